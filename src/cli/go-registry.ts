import fs from 'node:fs/promises';
import path from 'node:path';
import type { SqlValue } from 'sql.js';
import { isErrnoCode } from '../errors.js';
import { loadSqlJs } from '../index/sqljs.js';
import { CliError } from './cli-error.js';
import { fileProblem } from './file-problem.js';

/**
 * The Go registry's data, read and never written. Its layout (the seed's README):
 *
 *   registry/<name>/<version>/firmware.bin     the bytes
 *   registry.db                                SQLite, one table:
 *     CREATE TABLE firmware (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL,
 *       version TEXT NOT NULL, size INTEGER NOT NULL, labels TEXT NOT NULL,
 *       created_at DATETIME DEFAULT CURRENT_TIMESTAMP, UNIQUE(name, version));
 *
 * `labels` is JSON text; `created_at` is SQLite's CURRENT_TIMESTAMP, 'YYYY-MM-DD HH:MM:SS' in UTC.
 * SQLite keeps whatever a column is given, so every value is read as it is (`SqlValue`) and
 * judged by the importer, row by row.
 */
export interface GoRow {
  id: number;
  name: SqlValue;
  version: SqlValue;
  size: SqlValue;
  labels: SqlValue;
  createdAt: SqlValue;
}

const COLUMNS = ['id', 'name', 'version', 'size', 'labels', 'created_at'];

/** Every row of the `firmware` table, in the order they were published (by id). */
export async function readGoDatabase(file: string): Promise<GoRow[]> {
  let bytes: Buffer;
  try {
    bytes = await fs.readFile(file);
  } catch (error) {
    throw new CliError(`import-go: cannot read the Go registry's database ${file}: ${fileProblem(error)}`);
  }
  await refuseUnfinishedLog(file);
  // A database left in WAL mode (header bytes 18 and 19 = 2) opens in memory only in the
  // rollback mode; its log was found empty above, so the file alone is the whole database.
  if (bytes.length >= 20 && bytes[18] === 2 && bytes[19] === 2) bytes[18] = bytes[19] = 1;
  const SQL = await loadSqlJs();
  const db = new SQL.Database(bytes);
  try {
    let columns: string[];
    try {
      columns = (db.exec('PRAGMA table_info(firmware)')[0]?.values ?? []).map((column) => String(column[1]));
    } catch {
      throw new CliError(`import-go: ${file} is not a SQLite database; --db takes the Go registry's registry.db`);
    }
    if (Number(db.exec('PRAGMA user_version')[0]?.values[0]?.[0] ?? 0) > 0) {
      throw new CliError(`import-go: ${file} is a SPORE registry's index, not the Go registry's database`);
    }
    const missing = COLUMNS.filter((column) => !columns.includes(column));
    if (missing.length > 0) {
      throw new CliError(`import-go: ${file} is not the Go registry's database: its firmware table lacks ${missing.join(', ')}`);
    }
    const rows = db.exec(`SELECT ${COLUMNS.join(', ')} FROM firmware ORDER BY id`)[0]?.values ?? [];
    return rows.map(([id, name, version, size, labels, createdAt]) => ({ id: Number(id), name, version, size, labels, createdAt }) as GoRow);
  } finally {
    db.close();
  }
}

/** Where the Go registry keeps the bytes of a version (name and version already checked). */
export function goFirmwareFile(dir: string, name: string, version: string): string {
  return path.join(dir, name, version, 'firmware.bin');
}

/**
 * A Go registry still running, or stopped by a crash, may hold committed rows in its
 * write-ahead log (`-wal`) that are not in the database file yet; reading the file alone would
 * miss them silently.
 */
async function refuseUnfinishedLog(file: string): Promise<void> {
  for (const log of [`${file}-wal`, `${file}-journal`]) {
    try {
      if ((await fs.stat(log)).size === 0) continue;
    } catch (error) {
      if (isErrnoCode(error, 'ENOENT')) continue;
      throw error;
    }
    throw new CliError(
      `import-go: ${log} holds changes not yet in ${file}: stop the Go registry (or open the database once with sqlite3 to finish them), then import`,
    );
  }
}
