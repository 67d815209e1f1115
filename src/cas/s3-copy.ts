import type { S3Bucket, UploadedPart } from './s3-bucket.js';
import type { S3Tuning } from './s3-config.js';

/** S3 allows at most this many parts in one multipart upload. */
const MAX_PARTS = 10_000;

/**
 * Copies object `from` to `to` inside the bucket; the bytes never pass through here. Up to
 * `multipartCopyAbove` bytes (S3 allows 5 GiB) it is one CopyObject; above, a multipart upload
 * of UploadPartCopy parts, aborted on any failure. Either way `to` appears whole or not at all.
 */
export async function copyWithin(bucket: S3Bucket, from: string, to: string, size: number, tuning: S3Tuning): Promise<void> {
  if (size <= tuning.multipartCopyAbove) return bucket.copy(from, to);
  const partSize = Math.max(tuning.copyPartSize, Math.ceil(size / MAX_PARTS));
  const uploadId = await bucket.createUpload(to);
  try {
    const parts: UploadedPart[] = [];
    for (let start = 0; start < size; start += partSize) {
      parts.push(await bucket.uploadPartCopy(to, uploadId, parts.length + 1, from, { start, end: Math.min(start + partSize, size) - 1 }));
    }
    await bucket.completeUpload(to, uploadId, parts);
  } catch (error) {
    await bucket.abortUpload(to, uploadId).catch(() => undefined); // else the sweep of stale uploads
    throw error;
  }
}
