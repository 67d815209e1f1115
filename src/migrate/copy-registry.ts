import { setTimeout as sleep } from 'node:timers/promises';
import pLimit from 'p-limit';
import type { BlobStore } from '../cas/blob-store.js';
import type { Digest } from '../digest.js';
import { isRegistryError } from '../errors.js';
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
  /** Pauses before each retry of a version that failed UNAVAILABLE (default about 15 s in all). */
  retryPausesMs?: number[];
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

/** Pauses before each retry of a version that failed UNAVAILABLE: about 15 s in all, a database restart. */
const RETRY_PAUSES_MS: number[] = [250, 500, 1000, 2000, 4000, 8000];

/** Which count of the report each outcome adds to. */
const TALLIES = { copied: 'copied', present: 'present', conflict: 'conflicts', failed: 'failed' } as const;

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
 * A version whose target or source does not answer (UNAVAILABLE) is tried again for a while.
 * Rejects with CopyStopped (and how far it got) on the first failure that is not about one
 * version — the target or the source away for longer, a disk failing — once the work in
 * flight has ended.
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
        let published = false;
        try {
          for (const record of group) {
            if (stopped) return;
            const outcome = await retryWhileUnavailable(options.retryPausesMs ?? RETRY_PAUSES_MS, () =>
              copyVersion(record, {
                source: source.store,
                target: registry,
                targetStore: target.store,
                // At most the blob's size: bytes read again (a retry, or bytes refused on arrival
                // and named by another version) are not counted twice.
                onBytes: (count) => {
                  const counted = Math.min(count, size - streamed);
                  streamed += counted;
                  advance(counted);
                },
              }),
            );
            report[TALLIES[outcome.kind]]++;
            if (outcome.kind === 'copied') published = true;
            options.onOutcome?.(outcome);
          }
        } catch (error) {
          // Not about this version (the target away, a disk failing): no more work is begun,
          // and what is in flight ends before the caller hears of it.
          stopped ??= { cause: error };
          return;
        }
        // Counted here, not per try: a try that sent the blob and then failed leaves it stored,
        // and the next try finds it there.
        if (published && streamed === size) {
          report.blobsSent++;
          report.bytesSent += size;
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

/**
 * `work`, tried again after a growing pause while it fails UNAVAILABLE (a database or an
 * object store that does not answer for a moment): copying a version again is safe, it finds
 * what the last try left. After the last try the failure stands.
 */
async function retryWhileUnavailable<T>(pauses: number[], work: () => Promise<T>): Promise<T> {
  for (const pause of pauses) {
    try {
      return await work();
    } catch (error) {
      if (!isRegistryError(error, 'UNAVAILABLE')) throw error;
      await sleep(pause);
    }
  }
  return work();
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
