import { Writable, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { TooLargeError } from '../errors.js';
import type { BlobInfo, Expectation } from './blob-store.js';
import { DigestHasher } from '../digest.js';
import { checkExpectation } from './expectation.js';
import type { S3Bucket, UploadedPart } from './s3-bucket.js';
import type { S3Tuning } from './s3-config.js';

/**
 * Sends `source` to `key` while hashing and counting it, never holding more than
 * `partsInFlight + 1` part buffers, however large the body:
 *   1. bytes are copied into a part buffer as they arrive; one byte past `expect.maxBytes` is
 *      TooLargeError, and the rest of the source is not read;
 *   2. a full part buffer starts the multipart upload (the first time) and goes out as its next
 *      part; while `partsInFlight` parts are on their way, reading waits for the oldest, so a
 *      slow store slows the source instead of filling memory;
 *   3. at the end, digest and size are checked against `expect` before anything becomes an
 *      object: a body smaller than one part is one PutObject, a larger one completes its upload.
 * Any failure (the source's, the store's, a mismatch) aborts the multipart upload once its
 * parts have settled: nothing is left under `key`, not even parts.
 */
export async function uploadHashed(bucket: S3Bucket, key: string, source: Readable, expect: Expectation, tuning: S3Tuning): Promise<BlobInfo> {
  const hasher = new DigestHasher();
  const maxBytes = expect.maxBytes ?? Infinity;
  const buffers = new PartBuffers(tuning.partSize, tuning.partsInFlight + 1);
  const sent: UploadedPart[] = [];
  const inFlight: Promise<UploadedPart>[] = [];
  let uploadId: string | undefined;
  let part = buffers.take();
  let filled = 0;

  const sendPart = async (): Promise<void> => {
    uploadId ??= await bucket.createUpload(key);
    const buffer = part;
    const upload = bucket.uploadPart(key, uploadId, sent.length + inFlight.length + 1, buffer.subarray(0, filled));
    upload.then(() => buffers.give(buffer), () => buffers.give(buffer)); // also marks a rejection as handled until awaited
    inFlight.push(upload);
    part = buffers.take();
    filled = 0;
  };

  const take = async (chunk: Buffer): Promise<void> => {
    hasher.update(chunk);
    if (hasher.size > maxBytes) throw new TooLargeError(maxBytes);
    for (let offset = 0; offset < chunk.length; ) {
      const copied = chunk.copy(part, filled, offset);
      filled += copied;
      offset += copied;
      if (filled < part.length) continue;
      await sendPart();
      if (inFlight.length >= tuning.partsInFlight) sent.push(await inFlight.shift()!);
    }
  };

  // The chunk being taken: a failure of the source ends the pipeline while it may still be
  // sending a part, and nothing is aborted or freed before it is done.
  let taking: Promise<void> = Promise.resolve();
  try {
    // Chunk by chunk as the source gives them (`for await` would join what it buffered into
    // new buffers); a failure destroys the source: the rest of it is not read.
    await pipeline(
      source,
      new Writable({
        write: (chunk: Buffer, _encoding, callback) => {
          taking = take(chunk);
          taking.then(() => callback(), callback);
        },
      }),
    );
    const received = { digest: hasher.digest(), size: hasher.size };
    checkExpectation(received, expect);
    if (uploadId === undefined) {
      await bucket.put(key, part.subarray(0, filled));
    } else {
      if (filled > 0) await sendPart();
      sent.push(...(await Promise.all(inFlight.splice(0))));
      await bucket.completeUpload(key, uploadId, sent);
    }
    return received;
  } catch (error) {
    await taking.catch(() => undefined);
    await Promise.allSettled(inFlight);
    // Best effort: what an abort cannot remove now, the sweep of stale uploads removes later.
    if (uploadId !== undefined) await bucket.abortUpload(key, uploadId).catch(() => undefined);
    throw error;
  } finally {
    // Every part has settled: no request reads the buffers any more.
    buffers.release();
  }
}

/**
 * The part buffers of one upload, cut from one allocation made when the first is taken, and
 * reused once their part is sent. One allocation, not one per part: glibc's malloc serves a
 * block of more than 32 MiB from its own mmap and unmaps it when freed, while freeing a mapped
 * block of 128 KiB–32 MiB raises the size it maps from then on, and every later block below
 * that comes from its heap, which it keeps after the garbage collector frees them. Separate
 * 8 MiB part buffers left the registry some 40 MiB larger after each upload (measured resting
 * memory after a 600 MiB upload: 252 MiB with them). A smaller slab is rounded up past the
 * limit: the pages never written are never resident.
 *
 * `release` hands the slab's memory to a new, young ArrayBuffer (a transfer moves it, no copy)
 * and drops that: the next scavenge frees it, a few milliseconds later. The slab itself has
 * lived through the upload's scavenges into the old generation, which only a full collection
 * sweeps, and the registry lets those be rare (heap-growth.ts): the S3 bench measured the
 * registry at rest after a 64 MiB publish still holding its 40 MiB.
 */
class PartBuffers {
  static readonly #MIN_SLAB = 32 * 1024 * 1024 + 64 * 1024;
  readonly #free: Buffer[] = [];
  #slab: Buffer | undefined;

  constructor(
    private readonly size: number,
    private readonly count: number,
  ) {}

  take(): Buffer {
    if (this.#slab === undefined) {
      this.#slab = Buffer.allocUnsafeSlow(Math.max(this.size * this.count, PartBuffers.#MIN_SLAB));
      for (let index = this.count - 1; index >= 0; index--) this.#free.push(this.#slab.subarray(index * this.size, (index + 1) * this.size));
    }
    const buffer = this.#free.pop();
    if (buffer === undefined) throw new Error(`an upload took more than ${this.count} part buffers`);
    return buffer;
  }

  give(buffer: Buffer): void {
    this.#free.push(buffer);
  }

  /** Frees the slab soon; every buffer taken from it reads as empty from now on. */
  release(): void {
    if (this.#slab === undefined) return;
    // allocUnsafeSlow gives the slab an ArrayBuffer of its own, never a shared one.
    const memory = this.#slab.buffer as ArrayBuffer;
    structuredClone(memory, { transfer: [memory] });
    this.#slab = undefined;
    this.#free.length = 0;
  }
}
