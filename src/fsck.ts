import { pipeline } from 'node:stream/promises';
import { DigestHasher, type Digest } from './cas/digest.js';
import type { FsBlobStore } from './cas/fs-blob-store.js';
import type { FirmwareRecord } from './firmware/firmware-record.js';
import type { VersionTree } from './version-tree.js';

export interface FsckProgress {
  blobsDone: number;
  blobsTotal: number;
  bytesDone: number;
  bytesTotal: number;
}

export interface FsckReport {
  /** Damage, one line each: the registry does not hold what it says it holds. */
  problems: string[];
  /** Worth knowing, not damage: unreferenced blobs (gc removes them), leftover temp files. */
  notes: string[];
  blobs: number;
  bytes: number;
}

/**
 * Checks that the bytes are what the index says (read-only; safe beside a running registry):
 *   1. every blob is re-hashed and must hash to its own name (bit rot, a flipped byte);
 *   2. every index row must have its blob, of its recorded size, and its version link, the
 *      very same file (hard link);
 *   3. blobs no row references, and files in .tmp, are reported as notes.
 */
export async function fsck(
  { store, tree, records }: { store: FsBlobStore; tree: VersionTree; records: FirmwareRecord[] },
  onProgress: (progress: FsckProgress) => void = () => {},
): Promise<FsckReport> {
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
    if (actual !== digest) report.problems.push(`damaged blob ${digest}: its ${size} bytes hash to ${actual}`);
    progress.blobsDone++;
    onProgress(progress);
  }
  report.blobs = sizes.size;
  report.bytes = progress.bytesTotal;

  const referenced = new Set<Digest>();
  for (const record of records) {
    referenced.add(record.digest);
    const label = `${record.name} ${record.version}`;
    const size = sizes.get(record.digest);
    if (size === undefined) {
      report.problems.push(`missing blob: ${label} is ${record.digest}, which the store does not hold`);
      continue;
    }
    if (size !== record.size) report.problems.push(`wrong size: ${label} is recorded as ${record.size} bytes, its blob holds ${size}`);
    if (!(await tree.isLinked(record.name, record.version, store.pathOf(record.digest)))) {
      report.problems.push(`missing link: ${record.name}/${record.version}/firmware.bin is absent or not the blob (restarting the server re-makes it)`);
    }
  }
  for (const [digest, size] of sizes) {
    if (!referenced.has(digest)) report.notes.push(`unreferenced blob ${digest} (${size} bytes): no version publishes it; gc removes it`);
  }
  for (const entry of await store.listTemp()) report.notes.push(`temp file .tmp/${entry.name}: an upload in flight, or left by a crash`);
  return report;
}

async function hashOf(store: FsBlobStore, digest: Digest, onBytes: (bytes: number) => void): Promise<Digest> {
  const hasher = new DigestHasher();
  await pipeline(await store.open(digest), async function (chunks: AsyncIterable<Buffer>) {
    for await (const chunk of chunks) {
      hasher.update(chunk);
      onBytes(chunk.length);
    }
  });
  return hasher.digest();
}
