import fs from 'node:fs/promises';
import path from 'node:path';
import type { ExecutionContext } from 'ava';
import { loadSqlJs } from '../../src/index/sqljs.js';
import { tempDir } from './temp-dir.js';

/** One row of the Go registry as its upload handler wrote it, and the file it put beside. */
export interface GoFirmware {
  name: string;
  version: string;
  /** The `labels` column as text: what Go's json.Marshal gave (`null` for a nil map). */
  labels: string;
  /** 'YYYY-MM-DD HH:MM:SS'; absent: the column's DEFAULT CURRENT_TIMESTAMP fills it. */
  createdAt?: string;
  /** The file's bytes; absent: no file (a tree that lost one). */
  bytes?: Buffer;
  /** The `size` column; the length of `bytes` unless given. */
  size?: number;
}

export interface GoRegistry {
  dir: string;
  db: string;
  /** `created_at` of each row as SQLite stored it, by `name version`. */
  createdAt: Map<string, string>;
}

/**
 * A Go registry's data exactly as the seed describes it: `registry/<name>/<version>/firmware.bin`
 * and `registry.db` with its `firmware` table, the schema copied from the seed's README.
 */
export async function goRegistry(t: ExecutionContext, rows: GoFirmware[]): Promise<GoRegistry> {
  const home = await tempDir(t);
  const dir = path.join(home, 'registry');
  const db = path.join(home, 'registry.db');
  const SQL = await loadSqlJs();
  const database = new SQL.Database();
  database.exec(`CREATE TABLE firmware (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    version TEXT NOT NULL,
    size INTEGER NOT NULL,
    labels TEXT NOT NULL,
    created_at DATETIME DEFAULT CURRENT_TIMESTAMP,
    UNIQUE(name, version)
  );`);
  for (const row of rows) {
    const size = row.size ?? row.bytes?.length ?? 0;
    if (row.createdAt === undefined) {
      database.run('INSERT INTO firmware (name, version, size, labels) VALUES (?, ?, ?, ?)', [row.name, row.version, size, row.labels]);
    } else {
      database.run('INSERT INTO firmware (name, version, size, labels, created_at) VALUES (?, ?, ?, ?, ?)', [row.name, row.version, size, row.labels, row.createdAt]);
    }
    if (row.bytes) {
      await fs.mkdir(path.join(dir, row.name, row.version), { recursive: true });
      await fs.writeFile(path.join(dir, row.name, row.version, 'firmware.bin'), row.bytes);
    }
  }
  await fs.mkdir(dir, { recursive: true });
  const stored = database.exec('SELECT name, version, created_at FROM firmware')[0]?.values ?? [];
  const createdAt = new Map(stored.map(([name, version, at]) => [`${String(name)} ${String(version)}`, String(at)]));
  await fs.writeFile(db, database.export());
  database.close();
  return { dir, db, createdAt };
}

/** SQLite's CURRENT_TIMESTAMP text (UTC) as the registry shows times. */
export function isoFromSqlite(text: string): string {
  return new Date(`${text.replace(' ', 'T')}Z`).toISOString();
}
