import type { BlobStore } from '../cas/blob-store.js';
import type { Digest } from '../digest.js';
import type { FirmwareIndex } from '../index/firmware-index.js';
import type { VersionView } from './version-view.js';

export interface GarbageOptions {
  /** Report what would go, remove nothing. */
  dryRun?: boolean;
  /**
   * Unreferenced blobs and temp files younger than this stay. Blobs: a client may have just
   * asked `HEAD /blobs/…` and be about to publish them by digest. Temp files: an upload may
   * still be writing. Default one hour.
   */
  graceMs?: number;
}

export interface GarbageReport {
  dryRun: boolean;
  blobs: { digest: Digest; size: number }[];
  /** Unreferenced blobs kept because they are younger than the grace period. */
  youngBlobs: number;
  /** Temp entries: files in `.tmp`, or S3 temp objects and multipart uploads. */
  tempFiles: string[];
  /** Version links removed; always none without a version view. */
  links: { name: string; version: string }[];
  /** Links of unpublished versions kept because they are younger than the grace period. */
  youngLinks: number;
  /**
   * Files in the version tree that are not links to a stored blob (a copied-in tree, a copy
   * made where a blob had no links left): never removed by gc.
   */
  foreignFiles: number;
  bytes: number;
}

export const DEFAULT_GRACE_MS = 60 * 60 * 1000;

interface GarbageDeps {
  store: BlobStore;
  index: FirmwareIndex;
  view: VersionView | undefined;
  now: () => number;
}

/**
 * Collects what no published version needs:
 *   1. temp entries older than the grace period (an upload writing now keeps touching its
 *      file; an S3 upload in flight is younger than the grace period, which outlasts uploads);
 *   2. with a version view, it notes which of its entries are its own (before any blob goes);
 *   3. blobs no index row references and older than the grace period, each decided and removed
 *      under its digest lock, so a publish that is placing the same bytes is waited for and
 *      then seen (the live set is taken after in-flight uploads are known);
 *   4. with a version view, entries of versions no longer in the index, older than the grace
 *      period (see VersionView.preparePrune).
 */
export async function collectGarbage({ store, index, view, now }: GarbageDeps, options: GarbageOptions = {}): Promise<GarbageReport> {
  const dryRun = options.dryRun ?? false;
  const cutoff = now() - (options.graceMs ?? DEFAULT_GRACE_MS);
  const report: GarbageReport = { dryRun, blobs: [], youngBlobs: 0, tempFiles: [], links: [], youngLinks: 0, foreignFiles: 0, bytes: 0 };

  for (const entry of await store.listTemp()) {
    if (entry.modifiedAt >= cutoff) continue;
    report.tempFiles.push(entry.name);
    if (!dryRun) await store.removeTemp(entry.name);
  }

  const prune = await view?.preparePrune();
  const unreferenced: Digest[] = [];
  for await (const digest of store.list()) {
    if (!(await index.isReferenced(digest))) unreferenced.push(digest);
  }

  for (const digest of unreferenced) {
    // The index's digest lock: publishes, here or in another registry sharing the index, hold
    // it from placing bytes to inserting the row.
    await index.withDigestLock(digest, async () => {
      if (await index.isReferenced(digest)) return;
      const blob = await store.stat(digest);
      if (!blob) return;
      if (Date.parse(blob.storedAt) >= cutoff) {
        report.youngBlobs++;
        return;
      }
      report.blobs.push({ digest, size: blob.size });
      report.bytes += blob.size;
      if (!dryRun) await store.delete(digest);
    });
  }

  if (prune) {
    const pruned = await prune({ isPublished: async (name, version) => (await index.find(name, version)) !== undefined, cutoff, dryRun });
    Object.assign(report, pruned);
  }
  return report;
}
