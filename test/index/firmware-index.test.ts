import { spawnSync } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { isRegistryError } from '../../src/errors.js';
import { EmbeddedIndex } from '../../src/index/embedded-index.js';
import type { FirmwareRecord } from '../../src/index/firmware-index.js';
import { loadSqlJs } from '../../src/index/sqljs.js';
import { firmwareBytes, sha256 } from '../helpers/fixtures.js';
import { tempDir } from '../helpers/temp-dir.js';

async function openIndex(t: ExecutionContext, file?: string): Promise<EmbeddedIndex> {
  const index = await EmbeddedIndex.open(file ?? path.join(await tempDir(t), 'registry.db'));
  t.teardown(() => index.close());
  return index;
}

function record(name: string, version: string, overrides: Partial<FirmwareRecord> = {}): FirmwareRecord {
  return {
    name,
    version,
    size: 4096,
    digest: sha256(firmwareBytes(16)),
    labels: { app: name },
    createdAt: new Date().toISOString(),
    ...overrides,
  };
}

/** Reads the index files as another process would: only what is on disk counts. */
async function rowsOnDisk(file: string): Promise<number> {
  return (await EmbeddedIndex.readSnapshot(file)).length;
}

test('index: a new index file is created, migrated and on disk at open', async (t) => {
  const index = await openIndex(t);
  t.is(await rowsOnDisk(index.file), 0);
});

test('index: rows round-trip with labels, digest and time', async (t) => {
  const index = await openIndex(t);
  const written = record('base', '1.0.0', { labels: { app: 'base', 'hw/rev': 'esp32-c3' } });
  await index.insert(written);
  t.deepEqual(index.findNow('base', '1.0.0'), written);
  t.is(index.findNow('base', '2.0.0'), undefined);
});

test('index: a row is on disk when insert resolves, and survives reopening', async (t) => {
  const file = path.join(await tempDir(t), 'registry.db');
  const first = await EmbeddedIndex.open(file);
  const inserted = first.insert(record('base', '1.0.0'));
  t.is(first.findNow('base', '1.0.0'), undefined, 'not visible before it is durable');
  await inserted;
  t.is(await rowsOnDisk(file), 1);
  t.is(first.findNow('base', '1.0.0')?.version, '1.0.0');
  await first.close();

  const second = await openIndex(t, file);
  t.is(second.findNow('base', '1.0.0')?.version, '1.0.0');
});

test('index: concurrent changes share journal appends (group commit)', async (t) => {
  const index = await openIndex(t);
  const before = index.appends;
  await Promise.all(Array.from({ length: 50 }, (_, i) => index.insert(record('base', `1.0.${i}`))));
  t.true(index.appends - before <= 2, `${index.appends - before} appends for 50 inserts`);
  t.is(await rowsOnDisk(index.file), 50);
});

test('index: a change that does not fit is refused alone; the others in its group commit', async (t) => {
  const index = await openIndex(t);
  await index.insert(record('base', '1.0.0'));
  const results = await Promise.allSettled([
    index.insert(record('base', '1.1.0')),
    index.insert(record('base', '1.0.0')),
    index.remove('base', '9.9.9'),
    index.relabel('base', '1.1.0', { channel: 'stable' }),
  ]);
  t.deepEqual(results.map((result) => result.status), ['fulfilled', 'rejected', 'rejected', 'fulfilled']);
  t.true(isRegistryError((results[1] as PromiseRejectedResult).reason, 'VERSION_EXISTS'));
  t.true(isRegistryError((results[2] as PromiseRejectedResult).reason, 'NOT_FOUND'));
  t.deepEqual(index.findNow('base', '1.1.0')?.labels, { channel: 'stable' });
  t.is(await rowsOnDisk(index.file), 2);
});

test('index: list sorts by name, then SemVer precedence highest first, then newest first', async (t) => {
  const index = await openIndex(t);
  const versions = ['1.0.0', '2.0.0-beta.1', '2.0.0', '1.10.0', '2.0.0-rc.1', '1.2.0'];
  for (const version of versions) await index.insert(record('sensor', version));
  await index.insert(record('base', '0.1.0'));
  await index.insert(record('base', '1.0.0+b1', { createdAt: '2026-01-01T00:00:00.000Z' }));
  await index.insert(record('base', '1.0.0+b2', { createdAt: '2026-01-02T00:00:00.000Z' }));
  t.deepEqual(
    index.listNow().map((row) => `${row.name}@${row.version}`),
    [
      'base@1.0.0+b2',
      'base@1.0.0+b1',
      'base@0.1.0',
      'sensor@2.0.0',
      'sensor@2.0.0-rc.1',
      'sensor@2.0.0-beta.1',
      'sensor@1.10.0',
      'sensor@1.2.0',
      'sensor@1.0.0',
    ],
  );
  t.deepEqual(index.listNow({ name: 'base', version: '0.1.0' }).map((row) => row.version), ['0.1.0']);
  t.deepEqual(index.listNow({ version: '1.0.0' }).map((row) => row.name), ['sensor']);
  t.deepEqual(index.listNow({ name: 'nothing' }), []);
});

test('index: remove, references and stats', async (t) => {
  const index = await openIndex(t);
  const shared = sha256(firmwareBytes());
  await index.insert(record('base', '1.0.0', { digest: shared, size: 10 }));
  await index.insert(record('base', '1.1.0', { digest: shared, size: 10 }));
  await index.insert(record('other', '1.0.0', { size: 5 }));
  t.true(await index.isReferenced(shared));
  t.deepEqual((await index.stats()), { versions: 3, distinctDigests: 2, logicalBytes: 25, storedBytes: 15 });
  t.is((await index.count()), 3);
  await index.remove('base', '1.0.0');
  t.true(isRegistryError(await t.throwsAsync(index.remove('base', '1.0.0')), 'NOT_FOUND'));
  t.is((await index.count()), 2);
  t.deepEqual((await index.stats()), { versions: 2, distinctDigests: 2, logicalBytes: 15, storedBytes: 15 }, 'the shared bytes are still stored');
  await index.remove('other', '1.0.0');
  t.deepEqual((await index.stats()), { versions: 1, distinctDigests: 1, logicalBytes: 10, storedBytes: 10 });
  await index.close();
  const reopened = await openIndex(t, index.file);
  t.deepEqual((await reopened.stats()), { versions: 1, distinctDigests: 1, logicalBytes: 10, storedBytes: 10 }, 'counted the same from the files');
  t.true(await reopened.isReferenced(shared));
  t.false(await reopened.isReferenced(sha256(firmwareBytes())));
});

test('index: a second open of the same file is refused with INDEX_LOCKED', async (t) => {
  const index = await openIndex(t);
  const error = await t.throwsAsync(EmbeddedIndex.open(index.file));
  t.true(isRegistryError(error, 'INDEX_LOCKED'));
});

test('index: the lock is released on close', async (t) => {
  const file = path.join(await tempDir(t), 'registry.db');
  await (await EmbeddedIndex.open(file)).close();
  await t.notThrowsAsync(async () => (await EmbeddedIndex.open(file)).close());
  await t.throwsAsync(fs.access(`${file}.lock`));
});

test('index: a lock left by a process that is gone is taken over', async (t) => {
  const file = path.join(await tempDir(t), 'registry.db');
  const gone = spawnSync(process.execPath, ['-e', '0']).pid;
  await fs.writeFile(`${file}.lock`, JSON.stringify({ pid: gone, host: os.hostname(), since: '2026-01-01T00:00:00Z' }));
  const index = await openIndex(t, file);
  t.is(index.listNow().length, 0);
});

test('index: a lock held by another host is respected', async (t) => {
  const file = path.join(await tempDir(t), 'registry.db');
  await fs.writeFile(`${file}.lock`, JSON.stringify({ pid: 1, host: 'some-other-host', since: '2026-01-01T00:00:00Z' }));
  const error = await t.throwsAsync(EmbeddedIndex.open(file));
  t.true(isRegistryError(error, 'INDEX_LOCKED'));
});

test('index: temp files of an interrupted persist are removed at open', async (t) => {
  const dir = await tempDir(t);
  const file = path.join(dir, 'registry.db');
  await (await EmbeddedIndex.open(file)).close();
  const stale = `${file}.0b6bdbf2-4a4e-4a8e-9a8e-6f7f1b1b1b1b.tmp`;
  await fs.writeFile(stale, 'half a snapshot');
  await fs.writeFile(path.join(dir, 'unrelated.tmp'), 'not ours');
  await openIndex(t, file);
  t.deepEqual((await fs.readdir(dir)).sort(), ['registry.db', 'registry.db.journal.00000001', 'registry.db.lock', 'unrelated.tmp']);
});

test('index: a file that is not SQLite is refused with INDEX_UNREADABLE', async (t) => {
  const file = path.join(await tempDir(t), 'registry.db');
  await fs.writeFile(file, 'this is not a database, just text that is long enough to look like a header');
  const error = await t.throwsAsync(EmbeddedIndex.open(file));
  t.true(isRegistryError(error, 'INDEX_UNREADABLE'));
  await t.throwsAsync(fs.access(`${file}.lock`), undefined, 'the lock is released after a failed open');
});

test("index: the Go registry's database is recognised and refused, not changed", async (t) => {
  const file = path.join(await tempDir(t), 'registry.db');
  const SQL = await loadSqlJs();
  const seed = new SQL.Database();
  seed.exec(`CREATE TABLE firmware (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, version TEXT NOT NULL,
    size INTEGER NOT NULL, labels TEXT NOT NULL, created_at DATETIME DEFAULT CURRENT_TIMESTAMP, UNIQUE(name, version))`);
  const bytes = seed.export();
  seed.close();
  await fs.writeFile(file, bytes);
  const error = await t.throwsAsync(EmbeddedIndex.open(file));
  t.true(isRegistryError(error, 'INDEX_UNREADABLE'));
  t.true(Buffer.from(bytes).equals(await fs.readFile(file)));
});

test('index: a schema newer than this registry knows is refused', async (t) => {
  const file = path.join(await tempDir(t), 'registry.db');
  const SQL = await loadSqlJs();
  const future = new SQL.Database();
  future.exec('PRAGMA user_version = 99');
  await fs.writeFile(file, future.export());
  future.close();
  const error = await t.throwsAsync(EmbeddedIndex.open(file));
  t.true(isRegistryError(error, 'INDEX_UNREADABLE'));
});
