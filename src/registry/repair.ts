import pLimit from 'p-limit';
import type { BlobStore } from '../cas/blob-store.js';
import type { FirmwareRecord } from '../firmware/firmware-record.js';
import type { FirmwareIndex } from '../index/firmware-index.js';
import type { VersionView } from './version-view.js';

export interface RepairReport {
  /** Versions looked at. */
  checked: number;
  relinked: number;
  /** Links of versions that are no longer published, removed. */
  unlinked: number;
  missingBlobs: FirmwareRecord[];
  /** Links that could not be made or removed, with why: logged, never fatal. */
  failed: { name: string; version: string; reason: string }[];
}

/**
 * Makes the version tree match the index for `only` those versions (the ones the journal
 * replayed at start-up: the only ones whose link can lag, see Registry.viewSettled), or for
 * every published version, 16 at a time:
 *   - a published version gets its link when it is missing or is not its blob;
 *   - a version that is not published loses its link (only when asked about it by name:
 *     the journal removed it, so the link was ours);
 *   - a version whose blob is missing is reported, not touched: that is damage for fsck.
 * The tree is a convenience view: a link that cannot be made is reported, and start-up goes on.
 */
export async function repairTree(
  { index, store, view }: { index: FirmwareIndex; store: BlobStore; view: VersionView },
  only?: { name: string; version: string }[],
): Promise<RepairReport> {
  const limit = pLimit(16);
  const report: RepairReport = { checked: 0, relinked: 0, unlinked: 0, missingBlobs: [], failed: [] };
  const versions = only ? dedupe(only) : await index.list();
  await Promise.all(
    versions.map(({ name, version }) =>
      limit(async () => {
        report.checked++;
        try {
          const record = await index.find(name, version);
          if (!record) {
            if (await view.exists(name, version)) {
              await view.unlink(name, version);
              report.unlinked++;
            }
            return;
          }
          if (await view.isLinked(record)) return;
          if (!(await store.stat(record.digest))) {
            report.missingBlobs.push(record);
            return;
          }
          await view.link(record);
          report.relinked++;
        } catch (error) {
          report.failed.push({ name, version, reason: (error as NodeJS.ErrnoException).code ?? String(error) });
        }
      }),
    ),
  );
  return report;
}

function dedupe(versions: { name: string; version: string }[]): { name: string; version: string }[] {
  return [...new Map(versions.map((entry) => [`${entry.name}@${entry.version}`, entry])).values()];
}
