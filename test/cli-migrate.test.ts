import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { ExecutionContext } from 'ava';
import { FsBlobStore } from '../src/cas/fs-blob-store.js';
import type { FirmwareRecord } from '../src/firmware/firmware-record.js';
import { EmbeddedIndex } from '../src/index/embedded-index.js';
import { PostgresIndex } from '../src/index/postgres/postgres-index.js';
import { recordJson, type RecordJson } from '../src/http/record-json.js';
import { ceph } from './helpers/ceph.js';
import { BIN, spawnServer } from './helpers/child-server.js';
import { firmwareBytes, sha256 } from './helpers/fixtures.js';
import { request } from './helpers/http.js';
import { freshDatabase } from './helpers/postgres.js';
import { cli } from './helpers/run-cli.js';
import { newBucket, s3Env } from './helpers/stores.js';
import { tempDir } from './helpers/temp-dir.js';
import { waitFor } from './helpers/wait-for.js';
import { clusterTest } from './migrate/cluster-test.js';
import { flipByte, openLocal, publishAll, releases, type Release } from './migrate/local-registry.js';

const test = clusterTest;

/** An embedded registry on disk holding `list`, closed (as a stopped registry leaves it). */
async function localRegistry(t: ExecutionContext, list: Release[]): Promise<{ home: string; dir: string; db: string }> {
  const local = await openLocal(t);
  await publishAll(local.registry, local.store, list);
  await local.close();
  return { home: path.dirname(local.dir), dir: local.dir, db: local.db };
}

/** The environment of an empty cluster: a database and a bucket of its own. */
async function clusterEnv(): Promise<Record<string, string>> {
  const rgw = await ceph();
  return { DATABASE_URL: await freshDatabase(), ...s3Env(rgw, await newBucket(rgw)) };
}

/** Every record the cluster's index holds. */
async function clusterRecords(env: Record<string, string>): Promise<FirmwareRecord[]> {
  const index = await PostgresIndex.open(env.DATABASE_URL!);
  try {
    return await index.list();
  } finally {
    await index.close();
  }
}

/** A registry serving the cluster, as one of its instances. */
async function serveCluster(t: ExecutionContext, env: Record<string, string>) {
  return spawnServer(t, await tempDir(t), env);
}

function migrate(direction: 'up' | 'down', local: { dir: string; db: string }, env: Record<string, string>, more: string[] = []) {
  return cli(['migrate', direction, '--dir', local.dir, '--db', local.db, ...more], { env });
}

/** What a registry at `url` lists and serves: every record, and every version's bytes match `list`. */
async function assertServes(t: ExecutionContext, url: string, list: Release[]): Promise<void> {
  const listed = (await request(`${url}/firmware`)).json<RecordJson[]>();
  const expected = list.map(({ bytes, ...release }) => recordJson({ ...release, size: bytes.length, digest: sha256(bytes) }));
  const key = (record: RecordJson) => `${record.name}@${record.version}`;
  t.deepEqual(listed.map(key).sort(), expected.map(key).sort());
  for (const record of expected) t.deepEqual(listed.find((item) => key(item) === key(record)), record);
  for (const { name, version, bytes } of list) {
    const download = await request(`${url}/firmware/${name}/${version}`);
    t.is(download.status, 200);
    t.true(download.body.equals(bytes), `${name} ${version}: bytes`);
  }
}

const copiedLines = (stdout: string) => stdout.split('\n').filter((line) => line.startsWith('copied '));

test('migrate up: every version, label, date and byte arrives in the cluster, and an instance already serving it serves them', async (t) => {
  const list = releases();
  const local = await localRegistry(t, list);
  const env = await clusterEnv();
  const server = await serveCluster(t, env);
  t.is((await request(`${server.url}/firmware/base/1.0.0`)).status, 404);

  const run = await migrate('up', local, env);
  t.is(run.code, 0, run.stderr);
  t.is(copiedLines(run.stdout).length, 7);
  t.regex(run.stdout, /migrate up: 7 versions: 7 copied, 0 already there, 0 conflicts, 0 not copied .*; 5 blobs sent/);
  // The instance hears of the new versions from the database (its change feed), not from a restart.
  await waitFor(async () => (await request(`${server.url}/firmware/base/1.0.0`)).status === 200);
  await assertServes(t, server.url, list);
});

test('migrate up: on a terminal, a progress bar in bytes instead of a line per version', async (t) => {
  const local = await localRegistry(t, releases());
  const env = await clusterEnv();
  // script(1) gives the command a terminal, as a user at a shell has one.
  const command = [process.execPath, BIN, 'migrate', 'up', '--dir', local.dir, '--db', local.db].join(' ');
  const run = await new Promise<{ code: number; output: string }>((resolve) => {
    execFile('script', ['-qec', command, '/dev/null'], { env: { ...process.env, ...env } }, (error, stdout) => resolve({ code: error ? Number(error.code) : 0, output: stdout }));
  });
  t.is(run.code, 0, run.output);
  t.regex(run.output, /migrate up \[[█░]+\] 100% 0\.2\/0\.2 MiB/);
  t.notRegex(run.output, /copied base/);
  t.regex(run.output, /migrate up: 7 versions: 7 copied/);
});

test('migrate up: a second run copies nothing: every version is already there', async (t) => {
  const local = await localRegistry(t, releases());
  const env = await clusterEnv();
  t.is((await migrate('up', local, env)).code, 0);
  const again = await migrate('up', local, env);
  t.is(again.code, 0, again.stderr);
  t.deepEqual(copiedLines(again.stdout), []);
  t.regex(again.stdout, /7 versions: 0 copied, 7 already there, 0 conflicts, 0 not copied .*; 0 blobs sent, 0\.0 MiB/);
});

test('migrate up: a version the cluster has with other bytes is a conflict: reported, left as it is, exit 1', async (t) => {
  const list = releases();
  const env = await clusterEnv();
  const theirs = { ...list.at(-1)!, labels: { channel: 'canary' }, bytes: firmwareBytes(1000) };
  t.is((await migrate('up', await localRegistry(t, [theirs]), env)).code, 0);

  const run = await migrate('up', await localRegistry(t, list), env);
  t.is(run.code, 1);
  t.regex(run.stdout, /^conflict: relay 3\.2\.1 is in the target with other bytes/m);
  t.regex(run.stderr, /7 versions: 6 copied, 0 already there, 1 conflicts, 0 not copied/);
  const server = await serveCluster(t, env);
  await assertServes(t, server.url, [...list.slice(0, -1), theirs]);
});

test('migrate up: bytes damaged on disk are refused by their digest, reported, and not published: exit 1', async (t) => {
  const list = releases();
  const local = await localRegistry(t, list);
  const damaged = list.find((release) => release.name === 'relay')!;
  await flipByte(await FsBlobStore.open(local.dir), sha256(damaged.bytes));
  const env = await clusterEnv();

  const run = await migrate('up', local, env);
  t.is(run.code, 1);
  t.regex(run.stdout, /^not copied: relay 3\.2\.1: .*\(DIGEST_MISMATCH\)$/m);
  t.regex(run.stderr, /7 versions: 6 copied, 0 already there, 0 conflicts, 1 not copied/);
  const server = await serveCluster(t, env);
  await assertServes(t, server.url, list.filter((release) => release !== damaged));
  t.is((await request(`${server.url}/blobs/${sha256(damaged.bytes).replace(':', '/')}`)).status, 404);
});

test('migrate up: killed with kill -9 mid-copy, a second run completes it and copies nothing twice', async (t) => {
  const list: Release[] = Array.from({ length: 40 }, (_, i) => ({ name: 'bulk', version: `1.0.${i}`, labels: { n: String(i) }, createdAt: `2024-06-01T00:00:${String(i).padStart(2, '0')}.000Z`, bytes: firmwareBytes(256 * 1024) }));
  const local = await localRegistry(t, list);
  const env = await clusterEnv();

  const child = spawn(process.execPath, [BIN, 'migrate', 'up', '--dir', local.dir, '--db', local.db, '--jobs', '1'], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => void child.kill('SIGKILL'));
  const closed = once(child, 'close');
  let before = '';
  child.stdout.on('data', (chunk: Buffer) => (before += chunk.toString()));
  await waitFor(() => copiedLines(before).length > 0);
  child.kill('SIGKILL');
  const [, signal] = await closed;
  t.is(signal, 'SIGKILL');
  const first = copiedLines(before);
  t.true(first.length < list.length, 'killed before the end');

  const run = await migrate('up', local, env);
  t.is(run.code, 0, run.stderr);
  const second = copiedLines(run.stdout);
  t.log(`copied before the kill: ${first.length}, after: ${second.length} of ${list.length}`);
  t.deepEqual(second.filter((line) => first.includes(line)), [], 'no version copied twice');
  t.regex(run.stdout, new RegExp(`40 versions: ${second.length} copied, ${40 - second.length} already there, 0 conflicts`));
  t.true(second.length + first.length <= 40 && second.length + first.length >= 39);
  const server = await serveCluster(t, env);
  await assertServes(t, server.url, list);
});

test('migrate down: the cluster comes back into an embedded registry, version tree included, that serves it', async (t) => {
  const list = releases();
  const env = await clusterEnv();
  t.is((await migrate('up', await localRegistry(t, list), env)).code, 0);

  const home = await tempDir(t);
  const back = { dir: path.join(home, 'registry'), db: path.join(home, 'registry.db') };
  const run = await migrate('down', back, env);
  t.is(run.code, 0, run.stderr);
  t.regex(run.stdout, /migrate down: 7 versions: 7 copied, 0 already there, 0 conflicts, 0 not copied .*; 5 blobs sent/);
  for (const { name, version, bytes } of list) t.true((await fs.readFile(path.join(back.dir, name, version, 'firmware.bin'))).equals(bytes));
  t.deepEqual(await EmbeddedIndex.readSnapshot(back.db), await clusterRecords(env));

  const server = await spawnServer(t, home);
  await assertServes(t, server.url, list);
});

test('migrate: refused while a registry runs on the local data, exit 2; nothing copied', async (t) => {
  const local = await localRegistry(t, releases());
  const env = await clusterEnv();
  const server = await spawnServer(t, local.home);
  for (const direction of ['up', 'down'] as const) {
    const run = await migrate(direction, local, env);
    t.is(run.code, 2);
    t.regex(run.stderr, new RegExp(`^spore-registry: migrate ${direction}: .*registry\\.db is in use by process ${server.child.pid}.*; stop that registry first$`, 'm'));
  }
  t.deepEqual(await clusterRecords(env), []);
});

test('migrate: refused, exit 2, when the cluster is not configured; the local data is untouched', async (t) => {
  const local = await localRegistry(t, releases());
  const before = await fs.readdir(path.dirname(local.dir));
  const env = await clusterEnv();
  const { DATABASE_URL: _url, ...noDatabase } = env;
  const run = await migrate('up', local, noDatabase);
  t.is(run.code, 2);
  t.regex(run.stderr, /^spore-registry: migrate up: the cluster is not configured: DATABASE_URL must name the PostgreSQL database$/m);

  const { BLOB_STORE: _store, S3_BUCKET: _bucket, ...noBucket } = env;
  const down = await migrate('down', local, { ...noBucket, BLOB_STORE: 'fs' });
  t.is(down.code, 2);
  t.regex(down.stderr, /the cluster is not configured: .*BLOB_STORE is "fs"/);
  t.deepEqual(await fs.readdir(path.dirname(local.dir)), before);

  t.is((await migrate('up', local, env, ['--jobs', '0'])).code, 2);
  t.is((await cli(['migrate', 'sideways'], { env })).code, 2);
});
