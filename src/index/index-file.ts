import fs from 'node:fs/promises';
import path from 'node:path';
import type { Database } from 'sql.js';
import { isErrnoCode, RegistryError } from '../errors.js';
import { replayJournal, type ReplayReport } from './journal-replay.js';
import { migrate } from './schema.js';
import { isSnapshotTemp } from './snapshot-file.js';
import { loadSqlJs } from './sqljs.js';

export interface LoadedIndex {
  db: Database;
  /**
   * A snapshot must be written before the journal continues it: there was none (a new index),
   * or its schema was migrated (an index from an older release).
   */
  unsaved: boolean;
  replay: ReplayReport;
}

/**
 * Loads the index in `file` for a registry that owns it (the caller holds its lock): removes
 * snapshots a crash left half-written, loads the last snapshot (or starts empty), migrates
 * it, and replays the journal over it, cutting off a torn last record.
 */
export async function loadOwnedIndex(file: string): Promise<LoadedIndex> {
  const dir = path.dirname(file);
  for (const name of await fs.readdir(dir)) {
    if (isSnapshotTemp(file, name)) await fs.rm(path.join(dir, name), { force: true });
  }
  const bytes = await readIfPresent(file);
  const db = await openDatabase(bytes, file);
  // The journal makes changes durable; SQLite's own rollback journal only needs to serve
  // savepoints, and in memory it costs no copying through the in-memory file system.
  db.exec('PRAGMA journal_mode = MEMORY');
  try {
    const migrated = migrate(db, file) > 0;
    const replay = await replayJournal(db, file, { owner: true });
    return { db, unsaved: migrated || bytes === undefined, replay };
  } catch (error) {
    db.close();
    throw error;
  }
}

/**
 * The index as the last snapshot and the journal hold it, read without the lock and without
 * changing any file (fsck, a background snapshot). A journal without a snapshot is an index
 * whose first snapshot was never written; neither one is an index that does not exist.
 */
export async function loadIndexReadOnly(file: string, through?: number): Promise<{ db: Database; replay: ReplayReport }> {
  for (let attempt = 0; ; attempt++) {
    const before = await identity(file);
    const bytes = await readIfPresent(file);
    const db = await openDatabase(bytes, file);
    try {
      migrate(db, file);
      const replay = await replayJournal(db, file, { owner: false, through });
      if (bytes === undefined && replay.segments.length === 0) {
        throw new RegistryError('INDEX_UNREADABLE', `there is no index at ${file}`, { file });
      }
      return { db, replay };
    } catch (error) {
      db.close();
      // A background snapshot replaced the file and removed segments while they were read
      // (a segment gone, or a gap after the old snapshot): the new one holds what they held.
      if (attempt < 5 && (await identity(file)) !== before) continue;
      throw error;
    }
  }
}

/** Which file is at `file` now: a snapshot replaces it with a new inode. */
async function identity(file: string): Promise<string> {
  try {
    const stat = await fs.stat(file);
    return `${stat.dev}:${stat.ino}`;
  } catch (error) {
    if (isErrnoCode(error, 'ENOENT')) return 'none';
    throw error;
  }
}

async function readIfPresent(file: string): Promise<Uint8Array | undefined> {
  try {
    return await fs.readFile(file);
  } catch (error) {
    if (isErrnoCode(error, 'ENOENT')) return undefined;
    throw error;
  }
}

/** INDEX_UNREADABLE when the bytes are not a SQLite database. */
async function openDatabase(bytes: Uint8Array | undefined, file: string): Promise<Database> {
  const SQL = await loadSqlJs();
  try {
    const db = new SQL.Database(bytes);
    db.exec('PRAGMA quick_check');
    return db;
  } catch (error) {
    throw new RegistryError('INDEX_UNREADABLE', `${file} is not a readable SQLite database`, { file }, { cause: error });
  }
}
