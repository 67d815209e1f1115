import type { FirmwareRecord } from '../src/firmware/firmware-record.js';
import { reserveRoom } from '../src/index/database-room.js';
import { migrate } from '../src/index/schema.js';
import { isPrerelease, precedenceKey } from '../src/index/precedence.js';
import { writeSnapshot } from '../src/index/snapshot-file.js';
import { loadSqlJs } from '../src/index/sqljs.js';

/**
 * Writes an index snapshot holding `records`, fast: one transaction and prepared statements,
 * not one journalled change each (a million publishes over HTTP would take hours). The rows
 * are the ones `applyChange` writes; the index opens it like any snapshot.
 */
export async function writeIndexImage(file: string, records: Iterable<FirmwareRecord>): Promise<number> {
  const SQL = await loadSqlJs();
  const db = new SQL.Database();
  try {
    migrate(db, file);
    db.exec('BEGIN');
    const row = db.prepare('INSERT INTO firmware (name, version, size, digest, labels, created_at, precedence, prerelease) VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
    const label = db.prepare('INSERT INTO firmware_labels (firmware_id, key, value) VALUES (?, ?, ?)');
    let id = 0;
    for (const record of records) {
      id++;
      row.run([record.name, record.version, record.size, record.digest, JSON.stringify(record.labels), record.createdAt, precedenceKey(record.version), isPrerelease(record.version) ? 1 : 0]);
      for (const [key, value] of Object.entries(record.labels)) label.run([id, key, value]);
    }
    row.free();
    label.free();
    db.exec('COMMIT');
    reserveRoom(db);
    await writeSnapshot(file, db.export());
    return id;
  } finally {
    db.close();
  }
}
