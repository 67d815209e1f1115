import type { ServerResponse } from 'node:http';
import type { BlobReader } from '../../cas/blob-store.js';
import { RegistryError } from '../../errors.js';
import type { BufferPool } from './buffer-pool.js';
import type { ByteRange } from './range.js';

interface Chunk {
  buffer: Buffer;
  bytes: number;
  wanted: number;
}

/**
 * Writes bytes `range` of a blob to `res`, in chunks of `chunkSize` from `pool`, with
 * back-pressure: the next chunk is read while the last one drains to the socket, and no more
 * is read until it has. Each buffer goes back to the pool when the socket is done with it.
 *
 * Resolves `true` when every byte was handed to the socket, `false` when the client went away
 * first (nothing is left in flight either way). Rejects with BLOB_TRUNCATED when the blob
 * ends early, or with the read's error; the caller must then cut the connection.
 */
export async function sendBytes(res: ServerResponse, reader: BlobReader, range: ByteRange, pool: BufferPool, chunkSize: number): Promise<boolean> {
  let next = range.start;
  const readChunk = (): Promise<Chunk> | undefined => {
    if (next > range.end) return undefined;
    const position = next;
    const wanted = Math.min(chunkSize, range.end - position + 1);
    next += wanted;
    const buffer = pool.take(wanted);
    return reader.read(buffer, position, wanted).then(
      (bytes) => ({ buffer, bytes, wanted }),
      (error: unknown) => {
        pool.give(buffer);
        throw error;
      },
    );
  };

  let pending = readChunk();
  while (pending) {
    const chunk = await pending;
    pending = readChunk();
    if (chunk.bytes < chunk.wanted || res.destroyed) {
      pool.give(chunk.buffer);
      await settle(pending, pool);
      if (res.destroyed) return false;
      throw new RegistryError('BLOB_TRUNCATED', 'the stored blob is shorter than its recorded size; run fsck');
    }
    const flushed = res.write(chunk.buffer.subarray(0, chunk.bytes), () => pool.give(chunk.buffer));
    if (!flushed && !(await drained(res))) {
      await settle(pending, pool);
      return false;
    }
  }
  return true;
}

/** Writes one buffer the caller owns; resolves `false` when the client is gone. */
export async function sendBuffer(res: ServerResponse, buffer: Buffer): Promise<boolean> {
  if (res.destroyed) return false;
  return res.write(buffer) || drained(res);
}

/** Resolves `true` at the next 'drain', `false` if the response closes first. */
function drained(res: ServerResponse): Promise<boolean> {
  if (res.destroyed) return Promise.resolve(false);
  if (!res.writableNeedDrain) return Promise.resolve(true);
  return new Promise((resolve) => {
    const settleWith = (ok: boolean) => {
      res.off('drain', onDrain);
      res.off('close', onClose);
      resolve(ok);
    };
    const onDrain = () => settleWith(true);
    const onClose = () => settleWith(false);
    res.on('drain', onDrain);
    res.on('close', onClose);
  });
}

/** Waits for a read in flight and returns its buffer, whatever its outcome. */
async function settle(pending: Promise<Chunk> | undefined, pool: BufferPool): Promise<void> {
  const chunk = await pending?.catch(() => undefined);
  if (chunk) pool.give(chunk.buffer);
}
