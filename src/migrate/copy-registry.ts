import pLimit from 'p-limit';
import type { BlobStore } from '../cas/blob-store.js';
import type { Digest } from '../digest.js';
import type { FirmwareIndex, FirmwareRecord } from '../index/firmware-index.js';
import { silentLogger } from '../log.js';
import { Registry } from '../registry/registry.js';
import type { VersionView } from '../registry/version-view.js';
import { copyVersion, type VersionOutcome } from './copy-version.js';

/** One registry's data, as the copier sees it: the two contracts, and the view kept beside the store. */
export interface RegistryData {
  index: FirmwareIndex;
  store: BlobStore;
  view?: VersionView;
}

export interface CopyOptions {
  /** Blobs in flight at once (default 4): an object store answers each request slowly, but many at once. */
  concurrency?: number;
  /** Called once per source version, as soon as its outcome is known. */
  onOutcome?: (outcome: VersionOutcome) => void;
  /** Called as bytes arrive and as blobs are settled: of `total`, `done` bytes dealt with. */
  onProgress?: (done: number, total: number) => void;
}

export interface CopyReport {
  versions: number;
  copied: number;
  present: number;
  conflicts: number;
  /** Versions whose source bytes were absent or damaged: not published. */
  failed: number;
  /** Blobs streamed from the source into the target, and their bytes. */
  blobsSent: number;
  bytesSent: number;
}

/**
 * Copies every published version of `source` into `target`, with its labels and its publish
 * date (see copyVersion for one version). Idempotent: a version the target has with the same
 * bytes is left alone, so a run after an interruption continues where the last one stopped,
 * and sends again at most the blobs that were in flight.
 *
 * The versions go in the source's order (name, then SemVer precedence). Versions that share
 * bytes are copied one after another, so each blob is sent once; `concurrency` blobs are in
 * flight at once. Stored bytes that no version names are not copied: they are what a
 * crash or a removal left, and gc removes them.
 *
 * Rejects with CopyStopped (and how far it got) on the first failure that is not about one
 * version — the target or the source away, a disk failing — once the work in flight has ended.
 */
export async function copyRegistry(source: RegistryData, target: RegistryData, options: CopyOptions = {}): Promise<CopyReport> {
  const registry = new Registry({ ...target, log: silentLogger });
  const records = await source.index.list();
  const byDigest = groupByDigest(records);
  const total = [...byDigest.values()].reduce((sum, group) => sum + group[0]!.size, 0);
  const report: CopyReport = { versions: records.length, copied: 0, present: 0, conflicts: 0, failed: 0, blobsSent: 0, bytesSent: 0 };
  let done = 0;
  const advance = (bytes: number) => {
    done += bytes;
    options.onProgress?.(done, total);
  };

  const limit = pLimit(options.concurrency ?? 4);
  let stopped: { cause: unknown } | undefined;
  await Promise.all(
    [...byDigest.values()].map((group) =>
      limit(async () => {
        const size = group[0]!.size;
        let streamed = 0;
        try {
          for (const record of group) {
            if (stopped) return;
            const outcome = await copyVersion(record, {
              source: source.store,
              target: registry,
              targetStore: target.store,
              // At most the blob's size: bytes refused on arrival are read again for each version naming them.
              onBytes: (count) => {
                const counted = Math.min(count, size - streamed);
                streamed += counted;
                advance(counted);
              },
            });
            count(report, outcome);
            options.onOutcome?.(outcome);
          }
        } catch (error) {
          // Not about this version (the target away, a disk failing): no more work is begun,
          // and what is in flight ends before the caller hears of it.
          stopped ??= { cause: error };
          return;
        }
        // The blob is settled (sent, found, or refused): whatever was not streamed counts as done.
        advance(size - streamed);
      }),
    ),
  );
  // Link work the target registry began (its version tree) ends before the caller closes it.
  await registry.viewSettled();
  if (stopped) throw new CopyStopped(report, stopped.cause);
  return report;
}

/** A copy ended early by a failure that is not about one version; `report` says how far it got. */
export class CopyStopped extends Error {
  constructor(
    readonly report: CopyReport,
    cause: unknown,
  ) {
    super(cause instanceof Error ? cause.message : String(cause), { cause });
    this.name = 'CopyStopped';
  }
}

/** Versions by the bytes they name, in the order of each digest's first version. */
function groupByDigest(records: FirmwareRecord[]): Map<Digest, FirmwareRecord[]> {
  const groups = new Map<Digest, FirmwareRecord[]>();
  for (const record of records) {
    const group = groups.get(record.digest);
    if (group) group.push(record);
    else groups.set(record.digest, [record]);
  }
  return groups;
}

function count(report: CopyReport, outcome: VersionOutcome): void {
  if (outcome.kind === 'copied') {
    report.copied++;
    if (outcome.sent > 0) {
      report.blobsSent++;
      report.bytesSent += outcome.sent;
    }
  } else if (outcome.kind === 'present') report.present++;
  else if (outcome.kind === 'conflict') report.conflicts++;
  else report.failed++;
}
