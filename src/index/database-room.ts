import type { Database } from 'sql.js';
import type { Logger } from '../log.js';

/** Free room kept in the in-memory database: a ninth of its size, and at least this. */
const ROOM_MIN_BYTES = 1024 * 1024;
/**
 * Just under the eighth by which sql.js grows a file it must enlarge: then making room costs
 * one copy of the file, not two.
 */
const ROOM_SHARE = 1 / 9;
const MiB = 1024 * 1024;

/**
 * Keeps free pages in the database for the rows to come. sql.js keeps the database as one
 * array in memory, and when the file must grow, it copies all of it into an array an eighth
 * larger: at a million versions, a copy of 450 MiB that stalls every request for up to a
 * second, after every few thousand publishes. Pages freed by a dropped table stay in the file
 * and are reused first, so the file grows here, rarely and by a lot (about once per hundred
 * thousand publishes at a million versions), instead of in small, frequent steps. Snapshots
 * carry the room too (zeros on disk), so that loading one needs no growing copy.
 */
export function reserveRoom(db: Database, log?: Logger): void {
  const pragma = (name: string) => Number(db.exec(`PRAGMA ${name}`)[0]?.values[0]?.[0] ?? 0);
  const pageSize = pragma('page_size');
  const wanted = Math.max(ROOM_MIN_BYTES, pragma('page_count') * pageSize * ROOM_SHARE);
  if (pragma('freelist_count') * pageSize >= wanted / 4) return;
  const started = performance.now();
  db.exec('SAVEPOINT room');
  db.exec('CREATE TABLE _room (fill BLOB)');
  // In blobs of 1 MiB: one large blob would be built whole in WebAssembly memory, which never shrinks.
  db.run('WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?) INSERT INTO _room SELECT zeroblob(?) FROM n', [Math.ceil(wanted / MiB), MiB]);
  db.exec('DROP TABLE _room');
  db.exec('RELEASE room');
  log?.info({ bytes: Math.ceil(wanted / MiB) * MiB, ms: Math.round(performance.now() - started) }, 'index made room for the rows to come');
}

