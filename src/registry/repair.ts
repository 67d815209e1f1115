import pLimit from 'p-limit';
import type { FsBlobStore } from '../cas/fs-blob-store.js';
import type { FirmwareIndex, FirmwareRecord } from '../index/firmware-index.js';
import type { VersionTree } from '../version-tree.js';

export interface RepairReport {
  relinked: number;
  missingBlobs: FirmwareRecord[];
}

/**
 * Re-makes every version link that is missing or does not point at its blob (a crash between
 * the index write and the link, or a hand edit), 16 at a time. Rows whose blob is missing are
 * reported, not touched: that is damage for `fsck` to show, not something to guess about.
 */
export async function repairTree({ index, store, tree }: { index: FirmwareIndex; store: FsBlobStore; tree: VersionTree }): Promise<RepairReport> {
  const limit = pLimit(16);
  const report: RepairReport = { relinked: 0, missingBlobs: [] };
  await Promise.all(
    index.list().map((record) =>
      limit(async () => {
        const blobPath = store.pathOf(record.digest);
        if (await tree.isLinked(record.name, record.version, blobPath)) return;
        if (!(await store.stat(record.digest))) {
          report.missingBlobs.push(record);
          return;
        }
        await tree.link(record.name, record.version, blobPath);
        report.relinked++;
      }),
    ),
  );
  return report;
}
