import fs from 'node:fs/promises';
import path from 'node:path';
import { isErrnoCode } from '../errors.js';

/**
 * The index's files, side by side (`<db>` is REGISTRY_DB, `registry.db` by default):
 *
 *   <db>                    the last snapshot: a whole SQLite database, replaced atomically
 *   <db>.journal.00000007   journal segments: every change since the snapshot, one record
 *   <db>.journal.00000008   each, appended and fsynced before the change is acknowledged;
 *                           the highest number is the one being written
 *   <db>.<uuid>.tmp         a snapshot being written (removed at start-up if a crash left it)
 *   <db>.lock               who holds the index
 *
 * A backup copies the journal segments first, then the snapshot: a snapshot taken meanwhile
 * covers every segment that was removed after it.
 */
export interface Segment {
  number: number;
  file: string;
}

const DIGITS = 8;

export function segmentFile(dbFile: string, number: number): string {
  return `${dbFile}.journal.${String(number).padStart(DIGITS, '0')}`;
}

/** Every journal segment of `dbFile`, oldest first. */
export async function listSegments(dbFile: string): Promise<Segment[]> {
  const prefix = `${path.basename(dbFile)}.journal.`;
  let names: string[];
  try {
    names = await fs.readdir(path.dirname(dbFile));
  } catch (error) {
    if (isErrnoCode(error, 'ENOENT')) return [];
    throw error;
  }
  return names
    .filter((name) => name.startsWith(prefix) && /^\d+$/.test(name.slice(prefix.length)))
    .map((name) => ({ number: Number(name.slice(prefix.length)), file: path.join(path.dirname(dbFile), name) }))
    .sort((a, b) => a.number - b.number);
}
