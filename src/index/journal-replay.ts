import fs from 'node:fs/promises';
import type { Database } from 'sql.js';
import { RegistryError } from '../errors.js';
import { applyChange, lastApplied } from './apply-change.js';
import { changedVersion } from './index-change.js';
import { decodeEntries } from './journal-codec.js';
import { listSegments, type Segment } from './journal-files.js';

export interface ReplayOptions {
  /**
   * The owner of the index cuts a torn last record off the last segment (a crash during an
   * append), so that new records follow whole ones. A reader without the lock leaves files
   * alone: the record may be one being written right now.
   */
  owner: boolean;
  /** Only segments up to this number (a background snapshot of the closed segments). */
  through?: number;
}

export interface ReplayReport {
  segments: Segment[];
  /** Changes applied over the snapshot. */
  applied: number;
  /** Changes the snapshot already held. */
  skipped: number;
  /** Every name and version a replayed change touched (start-up repairs their links). */
  touched: { name: string; version: string }[];
  /** A torn last record that was dropped: where, and why. */
  torn?: { file: string; offset: number; reason: string };
  /** Bytes in the last segment after replay (the owner appends from there). */
  lastSegmentBytes: number;
}

/**
 * Applies every journalled change the snapshot in `db` does not hold yet, in sequence order.
 * Stops with INDEX_UNREADABLE, naming the file and offset, on damage that a crash cannot
 * explain (a bad record in the middle of the journal, a gap in the sequence, a change that
 * does not fit): it never skips a change silently. ENOENT when a segment disappears while
 * being read (a background snapshot removed it): a reader without the lock reads again.
 */
export async function replayJournal(db: Database, dbFile: string, options: ReplayOptions): Promise<ReplayReport> {
  const segments = (await listSegments(dbFile)).filter((segment) => options.through === undefined || segment.number <= options.through);
  const report: ReplayReport = { segments, applied: 0, skipped: 0, touched: [], lastSegmentBytes: 0 };
  let expected = lastApplied(db) + 1;
  for (const [position, segment] of segments.entries()) {
    const isLast = position === segments.length - 1;
    const bytes = await fs.readFile(segment.file);
    const decoded = decodeEntries(bytes);
    for (const { seq, change, offset } of decoded.entries) {
      if (seq < expected) {
        report.skipped++;
        continue;
      }
      if (seq > expected) {
        throw unreadable(segment.file, offset, `change ${expected} is missing (the next record is change ${seq}): the journal does not continue the snapshot`);
      }
      try {
        applyChange(db, seq, change);
      } catch (error) {
        throw unreadable(segment.file, offset, `change ${seq} does not apply (${(error as Error).message})`);
      }
      report.applied++;
      report.touched.push(changedVersion(change));
      expected++;
    }
    report.lastSegmentBytes = decoded.validEnd;
    const { bad } = decoded;
    if (!bad) continue;
    if (!(isLast && bad.atTail && options.through === undefined)) throw unreadable(segment.file, bad.offset, bad.reason);
    report.torn = { file: segment.file, offset: bad.offset, reason: bad.reason };
    if (options.owner) await cutTail(segment.file, decoded.validEnd);
  }
  return report;
}

async function cutTail(file: string, length: number): Promise<void> {
  const handle = await fs.open(file, 'r+');
  try {
    await handle.truncate(length);
    await handle.datasync();
  } finally {
    await handle.close();
  }
}

function unreadable(file: string, offset: number, reason: string): RegistryError {
  return new RegistryError('INDEX_UNREADABLE', `${file}: ${reason} at offset ${offset}; restore the index from a backup`, { file, offset });
}
