import type { Readable } from 'node:stream';
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
  const buffers = new PartBuffers(tuning.partSize);
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

  try {
    for await (const chunk of source as AsyncIterable<Buffer>) {
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
    }
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
    await Promise.allSettled(inFlight);
    // Best effort: what an abort cannot remove now, the sweep of stale uploads removes later.
    if (uploadId !== undefined) await bucket.abortUpload(key, uploadId).catch(() => undefined);
    throw error;
  }
}

/** Part-sized buffers, reused once their part is sent: an upload allocates only its peak. */
class PartBuffers {
  readonly #free: Buffer[] = [];

  constructor(private readonly size: number) {}

  take(): Buffer {
    return this.#free.pop() ?? Buffer.allocUnsafe(this.size);
  }

  give(buffer: Buffer): void {
    this.#free.push(buffer);
  }
}
