import { Transform, type Readable } from 'node:stream';
import type { BlobStore } from '../cas/blob-store.js';
import type { Digest } from '../digest.js';
import { isRegistryError, type ErrorDetails } from '../errors.js';
import type { FirmwareRecord } from '../firmware/firmware-record.js';
import type { Registry } from '../registry/registry.js';

/** What became of one version of the source. */
export type VersionOutcome =
  /** Published in the target; `sent` bytes crossed (0 when the target already held the blob). */
  | { kind: 'copied'; record: FirmwareRecord; sent: number }
  /** The target has this version with these bytes; `labelsDiffer` when its labels are not the source's (the target's stay). */
  | { kind: 'present'; record: FirmwareRecord; labelsDiffer: boolean }
  /** The target has this version with other bytes: nothing is overwritten. */
  | { kind: 'conflict'; record: FirmwareRecord; target: Digest }
  /**
   * The source could not give the bytes its row names: they are absent (BLOB_UNKNOWN), or hash
   * or measure otherwise on arrival (DIGEST_MISMATCH, SIZE_MISMATCH). Nothing was published.
   */
  | { kind: 'failed'; record: FirmwareRecord; code: string; reason: string };

export interface VersionCopy {
  source: BlobStore;
  /** The target registry: it orders blob before row under the digest lock, and links its view. */
  target: Registry;
  targetStore: BlobStore;
  /** Bytes read from the source as they pass, for a progress bar. */
  onBytes?: (count: number) => void;
}

/**
 * Copies one version into the target, keeping its labels and its publish date:
 *   1. a row for (name, version) in the target decides alone: same digest is already there,
 *      another digest is a conflict (never overwritten);
 *   2. bytes the target store already holds are published by digest, none sent;
 *   3. otherwise the source's bytes are streamed into the target's staging, hashed on the way
 *      and checked against the row's digest and size; only bytes that match are committed and
 *      published, and the row is inserted after the blob (a crash in between leaves an
 *      unreferenced blob, which the next run adopts and gc would remove).
 */
export async function copyVersion(record: FirmwareRecord, copy: VersionCopy): Promise<VersionOutcome> {
  const existing = await copy.target.find(record.name, record.version);
  if (existing) return compare(record, existing);

  const metadata = { name: record.name, version: record.version, labels: record.labels, digest: record.digest, size: record.size, createdAt: record.createdAt };
  try {
    let sent = 0;
    let result;
    if (await copy.targetStore.stat(record.digest)) {
      result = await copy.target.publishStored(metadata);
    } else {
      const bytes = await copy.source.open(record.digest);
      const staged = await copy.targetStore.stage(counted(bytes, (count) => copy.onBytes?.(count)), { digest: record.digest, size: record.size });
      sent = staged.size;
      result = await copy.target.publish(metadata, staged);
    }
    // Published meanwhile by someone else sharing the target, with the same bytes.
    if (!result.created) return compare(record, result.record);
    return { kind: 'copied', record, sent };
  } catch (error) {
    if (isRegistryError(error, 'VERSION_EXISTS')) {
      const winner = await copy.target.find(record.name, record.version);
      if (winner) return compare(record, winner);
    }
    if (isRegistryError(error) && error.code in SOURCE_FAULTS) {
      return { kind: 'failed', record, code: error.code, reason: SOURCE_FAULTS[error.code as keyof typeof SOURCE_FAULTS](record, error.details) };
    }
    throw error;
  }
}

/** What the source's bytes were found to be, said of the source (the errors' own words are an upload's). */
const SOURCE_FAULTS = {
  BLOB_UNKNOWN: (record: FirmwareRecord) => `the source does not have its bytes (${record.digest})`,
  BLOB_TRUNCATED: (record: FirmwareRecord) => `the source's bytes end before ${record.size} bytes`,
  DIGEST_MISMATCH: (record: FirmwareRecord, details: ErrorDetails) => `the source's bytes hash to ${String(details.actual)}, not ${record.digest}: they are damaged`,
  SIZE_MISMATCH: (record: FirmwareRecord, details: ErrorDetails) => `the source's bytes are ${String(details.actual)} bytes long, not ${record.size}: they are damaged`,
};

function compare(record: FirmwareRecord, existing: FirmwareRecord): VersionOutcome {
  if (existing.digest !== record.digest) return { kind: 'conflict', record, target: existing.digest };
  return { kind: 'present', record, labelsDiffer: !sameLabels(existing.labels, record.labels) };
}

function sameLabels(a: Record<string, string>, b: Record<string, string>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((key) => b[key] === a[key]);
}

/** `source`, telling `onBytes` how many bytes each chunk holds as it passes. */
function counted(source: Readable, onBytes: (count: number) => void): Readable {
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      onBytes(chunk.length);
      done(null, chunk);
    },
  });
  // A failing source fails the stream the store reads, which then keeps nothing.
  source.once('error', (error) => counter.destroy(error));
  counter.once('close', () => source.destroy());
  return source.pipe(counter);
}
