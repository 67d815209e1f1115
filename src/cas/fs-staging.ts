import { createWriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { isErrnoCode, TooLargeError } from '../errors.js';
import { BackgroundFlush } from './background-flush.js';
import type { BlobInfo, Expectation } from './blob-store.js';
import { DigestHasher } from '../digest.js';
import { checkExpectation } from './expectation.js';
import { fsyncDir } from '../fsync-dir.js';

/**
 * The write side of the file-system store: bytes in, a checked, durable, read-only temp file
 * out, which a commit links under its digest.
 *
 * Receives `source` into `tempPath` while hashing and counting it; refuses (keeping nothing)
 * bytes past `expect.maxBytes` as they arrive, and bytes that are not what `expect` declares
 * once they are in. The file is fsynced before this resolves: a crash after the index names
 * a blob must not leave a name without bytes.
 */
export async function receiveToTemp(tempPath: string, source: Readable, expect: Expectation): Promise<BlobInfo> {
  const hasher = new DigestHasher();
  const maxBytes = expect.maxBytes ?? Infinity;
  // `flush`: fsync before close.
  const file = createWriteStream(tempPath, { flags: 'wx', mode: 0o600, flush: true, highWaterMark: 4 << 20 });
  const flush = new BackgroundFlush(file);
  try {
    await pipeline(
      source,
      async function* hashAndCount(chunks: AsyncIterable<Buffer>) {
        try {
          for await (const chunk of chunks) {
            hasher.update(chunk);
            if (hasher.size > maxBytes) throw new TooLargeError(maxBytes);
            flush.wrote(chunk.length);
            yield chunk;
          }
        } finally {
          await flush.settle();
        }
      },
      file,
    );
    await fs.chmod(tempPath, 0o444);
    const received = { digest: hasher.digest(), size: hasher.size };
    checkExpectation(received, expect);
    return received;
  } catch (error) {
    await removeQuietly(tempPath);
    throw error;
  }
}

/**
 * `link(2)` that also makes a missing parent folder, durably (the first blob of its shard).
 * Like link, it fails with EEXIST when `newPath` exists: it never replaces a name.
 */
export async function linkCreatingParent(existing: string, newPath: string): Promise<void> {
  try {
    await fs.link(existing, newPath);
  } catch (error) {
    if (!isErrnoCode(error, 'ENOENT')) throw error;
    await fs.mkdir(path.dirname(newPath), { recursive: true });
    await fsyncDir(path.dirname(path.dirname(newPath)));
    await fs.link(existing, newPath);
  }
}

export async function removeQuietly(file: string): Promise<void> {
  await fs.rm(file, { force: true });
}
