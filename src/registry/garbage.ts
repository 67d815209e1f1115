import type { Digest } from '../digest.js';
import type { FsBlobStore } from '../cas/fs-blob-store.js';
import type { FirmwareIndex } from '../index/firmware-index.js';
import type { KeyedLock } from '../keyed-lock.js';
import { inodeOf, type VersionTree } from '../version-tree.js';

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
  tempFiles: string[];
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
  store: FsBlobStore;
  index: FirmwareIndex;
  tree: VersionTree;
  /** The registry's per-digest lock: publishes hold it from placing bytes to inserting the row. */
  blobs: KeyedLock;
  now: () => number;
}

/**
 * Collects what no published version needs:
 *   1. temp files older than the grace period (an upload writing now keeps touching its file);
 *   2. blobs no index row references and older than the grace period, each decided and removed
 *      under its digest lock, so a publish that is placing the same bytes is waited for and
 *      then seen (the live set is taken after in-flight uploads are known);
 *   3. version links whose version is no longer in the index, when they are hard links to a
 *      stored blob (made by this registry) and older than the grace period; any other file
 *      in the tree (a copied-in Go registry tree, say) is left alone and counted.
 */
export async function collectGarbage({ store, index, tree, blobs, now }: GarbageDeps, options: GarbageOptions = {}): Promise<GarbageReport> {
  const dryRun = options.dryRun ?? false;
  const cutoff = now() - (options.graceMs ?? DEFAULT_GRACE_MS);
  const report: GarbageReport = { dryRun, blobs: [], youngBlobs: 0, tempFiles: [], links: [], youngLinks: 0, foreignFiles: 0, bytes: 0 };

  for (const entry of await store.listTemp()) {
    if (entry.modifiedAt >= cutoff) continue;
    report.tempFiles.push(entry.name);
    if (!dryRun) await store.removeTemp(entry.name);
  }

  // The inode of every blob, taken before any is removed: a version link gc may remove must
  // be one of them (a hard link made by this registry), never a file someone else put there.
  const blobInodes = new Set<string>();
  const unreferenced: Digest[] = [];
  for await (const digest of store.list()) {
    const inode = await inodeOf(store.pathOf(digest));
    if (inode) blobInodes.add(inode);
    if (!index.isReferenced(digest)) unreferenced.push(digest);
  }

  for (const digest of unreferenced) {
    await blobs.run(digest, async () => {
      if (index.isReferenced(digest)) return;
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

  for await (const { name, version } of tree.list()) {
    if (index.find(name, version)) continue;
    const link = await tree.describe(name, version);
    if (!link || !blobInodes.has(link.inode)) {
      report.foreignFiles++;
      continue;
    }
    if (link.since >= cutoff) {
      report.youngLinks++;
      continue;
    }
    // Published again meanwhile (a publish makes its link after the row is durable).
    if (index.find(name, version)) continue;
    report.links.push({ name, version });
    if (!dryRun) await tree.unlink(name, version);
  }
  return report;
}
