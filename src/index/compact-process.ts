import { lastApplied } from './apply-change.js';
import { reserveRoom } from './database-room.js';
import { loadIndexReadOnly } from './index-file.js';
import { writeSnapshot } from './snapshot-file.js';

/**
 * A background snapshot, in a process of its own so that neither its CPU time (about a
 * second at a million versions) nor its memory (a second copy of the database) lands on the
 * server: loads the last snapshot, replays the closed journal segments up to `through`, and
 * writes the result as the new snapshot. Prints what it did as one JSON line.
 *
 *   node compact-process.js <db file> <last closed segment>
 */
const [file, through] = process.argv.slice(2);
if (!file || !through || !/^\d+$/.test(through)) {
  process.stderr.write('usage: compact-process.js <db file> <last closed segment>\n');
  process.exit(2);
}
const started = performance.now();
const { db, replay } = await loadIndexReadOnly(file, Number(through));
const seq = lastApplied(db);
// The snapshot carries the free room the server keeps, so loading it needs no growing copy.
reserveRoom(db);
const bytes = db.export();
db.close();
await writeSnapshot(file, bytes);
process.stdout.write(`${JSON.stringify({ seq, applied: replay.applied, bytes: bytes.length, ms: Math.round(performance.now() - started) })}\n`);
