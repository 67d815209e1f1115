import fs from 'node:fs/promises';
import path from 'node:path';
import type { Database } from 'sql.js';
import { isErrnoCode, RegistryError } from '../errors.js';
import { migrate } from './schema.js';
import { isSnapshotTemp } from './snapshot-writer.js';
import { loadSqlJs } from './sqljs.js';

export interface LoadedIndex {
  db: Database;
  /** The snapshot must be written before use: the file was new, or its schema was migrated. */
  unsaved: boolean;
}

/**
 * Loads the index in `file` into memory for a registry that owns it (the caller holds its
 * lock): removes temp files a crashed writer left, loads the last snapshot (or starts empty),
 * and migrates it.
 */
export async function loadOwnedIndex(file: string): Promise<LoadedIndex> {
  const dir = path.dirname(file);
  for (const name of await fs.readdir(dir)) {
    if (isSnapshotTemp(file, name)) await fs.rm(path.join(dir, name), { force: true });
  }
  let bytes: Uint8Array | undefined;
  try {
    bytes = await fs.readFile(file);
  } catch (error) {
    if (!isErrnoCode(error, 'ENOENT')) throw error;
  }
  const db = await openDatabase(bytes, file);
  return { db, unsaved: migrate(db, file) > 0 || bytes === undefined };
}

/** The last snapshot in `file`, read without the lock, migrated in memory only (fsck). */
export async function loadSnapshot(file: string): Promise<Database> {
  const db = await openDatabase(await fs.readFile(file), file);
  migrate(db, file);
  return db;
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
