import { pipeline } from 'node:stream/promises';
import type { BlobStore } from './cas/blob-store.js';
import { DigestHasher, type Digest } from './digest.js';
import { isRegistryError } from './errors.js';
import type { FirmwareRecord } from './firmware/firmware-record.js';
import type { VersionView } from './registry/version-view.js';

export interface FsckProgress {
  blobsDone: number;
  blobsTotal: number;
  bytesDone: number;
  bytesTotal: number;
}

export interface FsckReport {
  /** Damage, one line each: the registry does not hold what it says it holds. */
  problems: string[];
  /**
   * Worth knowing, not damage: unreferenced blobs (gc removes them), leftover temp files,
   * missing version links (a registry re-makes them at start-up), versions deleted meanwhile.
   */
  notes: string[];
  blobs: number;
  bytes: number;
}

export interface FsckSources {
  store: BlobStore;
  /** The version tree, beside the file-system store; none with an object store. */
  view: VersionView | undefined;
  /** The index rows as fsck started. */
  records: FirmwareRecord[];
  /** The index rows as they are now: a running registry may have deleted some meanwhile. */
  reread: () => Promise<FirmwareRecord[]>;
}

/**
 * Checks that the bytes are what the index says (read-only; safe beside a running registry):
 *   1. every blob is re-hashed, streamed from the store, and must hash to its own name (bit rot,
 *      a flipped byte); a blob gone by the time it is read was deleted meanwhile, no damage;
 *   2. every index row must have its blob, of its recorded size; a row that fails is checked
 *      again against the index as it is now, since a registry deletes the row before the blob
 *      and the rows fsck started with may be a moment old;
 *   3. version links that are missing or not the blob (with a view), blobs no row references,
 *      and temp entries are notes: the tree is derived (a backup rightly has none), the rest
 *      is gc's.
 */
export async function fsck({ store, view, records, reread }: FsckSources, onProgress: (progress: FsckProgress) => void = () => {}): Promise<FsckReport> {
  const report: FsckReport = { problems: [], notes: [], blobs: 0, bytes: 0 };
  const sizes = new Map<Digest, number>();
  for await (const digest of store.list()) {
    const stat = await store.stat(digest);
    if (stat) sizes.set(digest, stat.size);
  }
  const progress: FsckProgress = { blobsDone: 0, blobsTotal: sizes.size, bytesDone: 0, bytesTotal: [...sizes.values()].reduce((a, b) => a + b, 0) };
  onProgress(progress);

  for (const [digest, size] of sizes) {
    const actual = await hashOf(store, digest, (bytes) => {
      progress.bytesDone += bytes;
      onProgress(progress);
    });
    if (actual === undefined) sizes.delete(digest);
    else if (actual !== digest) report.problems.push(`damaged blob ${digest}: its ${size} bytes hash to ${actual}`);
    progress.blobsDone++;
    onProgress(progress);
  }
  report.blobs = sizes.size;
  report.bytes = [...sizes.values()].reduce((a, b) => a + b, 0);

  const suspects: { record: FirmwareRecord; problem: string }[] = [];
  for (const record of records) {
    const label = `${record.name} ${record.version}`;
    const size = sizes.get(record.digest);
    if (size === undefined) {
      suspects.push({ record, problem: `missing blob: ${label} is ${record.digest}, which the store does not hold` });
      continue;
    }
    if (size !== record.size) suspects.push({ record, problem: `wrong size: ${label} is recorded as ${record.size} bytes, its blob holds ${size}` });
    if (view && !(await view.isLinked(record))) {
      report.notes.push(`version link ${record.name}/${record.version}/firmware.bin is missing or not the blob: a registry started with REPAIR_TREE=all on this data re-makes it`);
    }
  }
  const now = suspects.length > 0 ? await reread() : [];
  for (const { record, problem } of suspects) {
    const still = now.some((row) => row.name === record.name && row.version === record.version && row.digest === record.digest);
    if (still) report.problems.push(problem);
    else report.notes.push(`${record.name} ${record.version} was deleted while fsck ran`);
  }

  const referenced = new Set(records.map((record) => record.digest));
  for (const [digest, size] of sizes) {
    if (!referenced.has(digest)) report.notes.push(`unreferenced blob ${digest} (${size} bytes): no version publishes it; gc removes it`);
  }
  for (const entry of await store.listTemp()) report.notes.push(`temp entry ${entry.name}: an upload in flight, or left by a crash`);
  return report;
}

/** The blob's digest as its bytes say, or undefined when it is gone (deleted meanwhile). */
async function hashOf(store: BlobStore, digest: Digest, onBytes: (bytes: number) => void): Promise<Digest | undefined> {
  const hasher = new DigestHasher();
  let bytes;
  try {
    bytes = await store.open(digest);
  } catch (error) {
    if (isRegistryError(error, 'BLOB_UNKNOWN')) return undefined;
    throw error;
  }
  await pipeline(bytes, async function (chunks: AsyncIterable<Buffer>) {
    for await (const chunk of chunks) {
      hasher.update(chunk);
      onBytes(chunk.length);
    }
  });
  return hasher.digest();
}
