import fs from 'node:fs/promises';
import path from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { isRegistryError } from '../../src/errors.js';
import { EmbeddedIndex } from '../../src/index/embedded-index.js';
import type { FirmwareRecord } from '../../src/index/firmware-index.js';
import { encodeEntries } from '../../src/index/journal-codec.js';
import { listSegments, segmentFile } from '../../src/index/journal-files.js';
import { loadSqlJs } from '../../src/index/sqljs.js';
import type { Logger } from '../../src/log.js';
import { faultTest, immutable } from '../helpers/chattr.js';
import { firmwareBytes, sha256 } from '../helpers/fixtures.js';
import { tempDir } from '../helpers/temp-dir.js';
import { waitFor } from '../helpers/wait-for.js';

function record(name: string, version: string): FirmwareRecord {
  return { name, version, size: 16, digest: sha256(firmwareBytes(16)), labels: { app: name }, createdAt: new Date().toISOString() };
}

function recordingLog(): Logger & { lines: { level: string; fields: Record<string, unknown>; msg: string }[] } {
  const lines: { level: string; fields: Record<string, unknown>; msg: string }[] = [];
  const at = (level: string) => (fields: Record<string, unknown>, msg: string) => void lines.push({ level, fields, msg });
  return { lines, info: at('info'), warn: at('warn'), error: at('error'), debug: at('debug') } as unknown as Logger & { lines: typeof lines };
}

async function freshFile(t: ExecutionContext): Promise<string> {
  return path.join(await tempDir(t), 'registry.db');
}

async function withIndex<T>(file: string, use: (index: EmbeddedIndex) => Promise<T>, options = {}): Promise<T> {
  const index = await EmbeddedIndex.open(file, options);
  try {
    return await use(index);
  } finally {
    await index.close();
  }
}

const versionsIn = async (file: string) => (await EmbeddedIndex.readSnapshot(file)).map((row) => row.version).sort();

test('journal: a torn last record (a crash mid-append) is dropped with a log line, and appends continue after it', async (t) => {
  const file = await freshFile(t);
  await withIndex(file, async (index) => {
    await index.insert(record('base', '1.0.0'));
    await index.insert(record('base', '1.1.0'));
  });
  const [segment] = await listSegments(file);
  const whole = await fs.stat(segment!.file);
  // Half of one more record: what a crash during its write leaves.
  const torn = encodeEntries([{ seq: 3, change: { op: 'insert', record: record('base', '9.9.9') } }]);
  await fs.appendFile(segment!.file, torn.subarray(0, torn.length - 7));

  const log = recordingLog();
  await withIndex(
    file,
    async (index) => {
      t.deepEqual(index.listNow().map((row) => row.version).sort(), ['1.0.0', '1.1.0']);
      await index.insert(record('base', '1.2.0'));
    },
    { log },
  );
  t.like(log.lines.find((line) => line.msg.includes('torn')), { level: 'warn', fields: { file: segment!.file, offset: whole.size } });
  t.deepEqual(await versionsIn(file), ['1.0.0', '1.1.0', '1.2.0']);
});

test('journal: a damaged record in the middle stops start-up, naming the file and the offset', async (t) => {
  const file = await freshFile(t);
  await withIndex(file, async (index) => {
    for (const version of ['1.0.0', '1.1.0', '1.2.0']) await index.insert(record('base', version));
  });
  const [segment] = await listSegments(file);
  const bytes = await fs.readFile(segment!.file);
  const second = 8 + bytes.readUInt32LE(0);
  bytes[second + 20] = bytes[second + 20]! ^ 0xff; // a flipped byte in the second record
  await fs.writeFile(segment!.file, bytes);

  const error = await t.throwsAsync(EmbeddedIndex.open(file));
  t.true(isRegistryError(error, 'INDEX_UNREADABLE'));
  t.like((error as unknown as { details: object }).details, { file: segment!.file, offset: second });
  t.regex(error!.message, /checksum/);
  await t.throwsAsync(EmbeddedIndex.readSnapshot(file), { message: /checksum/ }, 'fsck sees the damage too');
  t.true(bytes.equals(await fs.readFile(segment!.file)), 'nothing was cut off');
});

test('journal: a journal without its snapshot is replayed from the start', async (t) => {
  const file = await freshFile(t);
  await withIndex(file, async (index) => {
    await index.insert(record('base', '1.0.0'));
    await index.relabel('base', '1.0.0', { channel: 'stable' });
  });
  await fs.rm(file);
  t.deepEqual(await versionsIn(file), ['1.0.0']);
  await withIndex(file, async (index) => t.deepEqual(index.findNow('base', '1.0.0')?.labels, { channel: 'stable' }));
});

test('journal: a snapshot without a journal opens as it is', async (t) => {
  const file = await freshFile(t);
  await withIndex(file, async (index) => {
    await index.insert(record('base', '1.0.0'));
    await index.insert(record('base', '2.0.0'));
  });
  // Opened past the threshold, the index folds its journal into a snapshot; then the journal is lost.
  await withIndex(file, async (index) => index.snapshotIdle(), { snapshotAfterBytes: 1 });
  for (const segment of await listSegments(file)) await fs.rm(segment.file);
  t.deepEqual(await versionsIn(file), ['1.0.0', '2.0.0']);
  await withIndex(file, async (index) => {
    await index.insert(record('base', '3.0.0'));
  });
  t.deepEqual(await versionsIn(file), ['1.0.0', '2.0.0', '3.0.0']);
});

test('journal: a journal that does not continue its snapshot (changes missing) is refused', async (t) => {
  const file = await freshFile(t);
  await withIndex(file, async () => {});
  const [segment] = await listSegments(file);
  await fs.writeFile(segment!.file, encodeEntries([{ seq: 5, change: { op: 'insert', record: record('base', '1.0.0') } }]));
  const error = await t.throwsAsync(EmbeddedIndex.open(file));
  t.true(isRegistryError(error, 'INDEX_UNREADABLE'));
  t.regex(error!.message, /change 1 is missing/);
});

test('journal: past the threshold, closed segments are folded into a snapshot in the background', async (t) => {
  const file = await freshFile(t);
  const log = recordingLog();
  await withIndex(
    file,
    async (index) => {
      for (let i = 0; i < 40; i++) await index.insert(record('base', `1.0.${i}`));
      await index.remove('base', '1.0.0');
      await waitFor(async () => index.snapshots > 0);
      await index.snapshotIdle();
      t.true((await index.segmentCount()) <= 2, 'folded segments are removed');
      t.is(await index.count(), 39);
    },
    { snapshotAfterBytes: 1024, log },
  );
  t.like(log.lines.find((line) => line.msg.includes('snapshot written')), { level: 'info' });
  t.is((await versionsIn(file)).length, 39);
  await withIndex(file, async (index) => t.is(await index.count(), 39), { snapshotAfterBytes: 1024 });
});

test('journal: an index written by the previous release (whole snapshots, no journal) opens and is migrated', async (t) => {
  const file = await freshFile(t);
  const SQL = await loadSqlJs();
  const db = new SQL.Database();
  // Schema version 2 exactly as the previous release wrote it, with one row.
  db.exec(`CREATE TABLE firmware (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, version TEXT NOT NULL, size INTEGER NOT NULL,
     labels TEXT NOT NULL DEFAULT '{}', created_at TEXT NOT NULL, digest TEXT NOT NULL, precedence TEXT NOT NULL, UNIQUE(name, version));
   CREATE INDEX firmware_by_precedence ON firmware(name, precedence);
   CREATE INDEX firmware_by_digest ON firmware(digest);
   CREATE TABLE firmware_labels (firmware_id INTEGER NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (key, value, firmware_id)) WITHOUT ROWID;
   CREATE INDEX firmware_labels_by_firmware ON firmware_labels(firmware_id);
   ALTER TABLE firmware ADD COLUMN prerelease INTEGER NOT NULL DEFAULT 0;
   CREATE INDEX firmware_releases ON firmware(name, prerelease, precedence);
   PRAGMA user_version = 2;`);
  const old = record('base', '1.0.0');
  db.run('INSERT INTO firmware (name, version, size, labels, created_at, digest, precedence, prerelease) VALUES (?, ?, ?, ?, ?, ?, ?, 0)', [
    old.name, old.version, old.size, JSON.stringify({ channel: 'stable' }), old.createdAt, old.digest, '000001.000000.000000~',
  ]);
  db.run("INSERT INTO firmware_labels VALUES (1, 'channel', 'stable')");
  await fs.writeFile(file, db.export());
  db.close();

  await withIndex(file, async (index) => {
    t.deepEqual(index.listNow({ labels: [['channel', 'stable']] }).map((row) => row.version), ['1.0.0']);
    t.true(index.opened.fresh, 'every version link is checked once');
    await index.insert(record('base', '2.0.0'));
  });
  t.deepEqual(await versionsIn(file), ['1.0.0', '2.0.0']);
});

faultTest('journal: a failed append is refused, applied nowhere, and cut back before the next one', async (t) => {
  const file = await freshFile(t);
  const index = await EmbeddedIndex.open(file);
  t.teardown(() => index.close());
  await index.insert(record('base', '1.0.0'));
  const [segment] = await listSegments(file);
  const clear = immutable(t, segment!.file);
  const failed = await Promise.allSettled([index.insert(record('base', '2.0.0')), index.remove('base', '1.0.0')]);
  t.deepEqual(failed.map((result) => result.status), ['rejected', 'rejected']);
  t.true(isRegistryError((failed[0] as PromiseRejectedResult).reason, 'UNAVAILABLE'));
  t.deepEqual(index.listNow().map((row) => row.version), ['1.0.0'], 'neither change is visible');
  clear();
  await index.insert(record('base', '3.0.0'));
  await index.close();
  t.deepEqual(await versionsIn(file), ['1.0.0', '3.0.0'], 'what was refused never comes back');
  t.is(segmentFile(file, 1), segment!.file);
});
