import fs from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import test, { type ExecutionContext } from 'ava';
import { loadBlobStoreConfig } from '../../src/config/blob-store-config.js';
import { openStorage } from '../../src/storage.js';
import { firmwareBytes, sha256 } from '../helpers/fixtures.js';
import { request } from '../helpers/http.js';
import { firmwareUpload } from '../helpers/multipart.js';
import { startRegistry, type TestRegistry } from '../helpers/registry-server.js';
import { cli } from '../helpers/run-cli.js';
import { putUnpublished, STORES, storeContents, storeEnv, storeTest, titled } from '../helpers/stores.js';
import { storeUnpublished } from '../helpers/unpublished-blob.js';

type Row = { name: string; version: string; labels: Record<string, string> };

const CATALOGUE: [string, string, Record<string, string>][] = [
  ['base', '1.0.0', { channel: 'stable', hw: 'esp32' }],
  ['base', '1.1.0', { channel: 'stable', hw: 'esp8266' }],
  ['base', '1.2.0', { channel: 'stable', hw: 'esp32' }],
  ['base', '2.0.0-beta.1', { channel: 'beta', hw: 'esp32' }],
  ['base', '2.0.0-rc.1', { channel: 'beta', hw: 'esp32' }],
  ['base', '2.0.0', { channel: 'beta', hw: 'esp32' }],
  ['sensor', '0.9.0', { channel: 'stable', hw: 'esp32' }],
];

async function catalogue(t: ExecutionContext, env: Record<string, string> = {}): Promise<TestRegistry> {
  const registry = await startRegistry(t, env);
  const auth: Record<string, string> = env.REGISTRY_TOKENS ? { Authorization: `Bearer ${env.REGISTRY_TOKENS}` } : {};
  for (const [name, version, labels] of CATALOGUE) {
    t.is((await registry.post(firmwareUpload({ name, version, labels }, firmwareBytes(256)), auth)).status, 201);
  }
  return registry;
}

const versions = (rows: Row[]) => rows.map((row) => `${row.name}@${row.version}`);

// Queries, latest and updates read the index only: they run on the default store. What
// touches blobs (PATCH with a restart, DELETE, gc) runs on both stores.

test('queries: pre-releases order below their release, rc above beta', async (t) => {
  const registry = await catalogue(t);
  t.deepEqual(versions((await registry.get('/firmware?name=base')).json()), [
    'base@2.0.0',
    'base@2.0.0-rc.1',
    'base@2.0.0-beta.1',
    'base@1.2.0',
    'base@1.1.0',
    'base@1.0.0',
  ]);
});

test('queries: label filters combine (AND), with name, range and prerelease', async (t) => {
  const registry = await catalogue(t);
  const get = async (query: string) => versions((await registry.get(`/firmware?${query}`)).json());
  t.deepEqual(await get('label=channel=stable'), ['base@1.2.0', 'base@1.1.0', 'base@1.0.0', 'sensor@0.9.0']);
  t.deepEqual(await get('label=channel=stable&label=hw=esp32'), ['base@1.2.0', 'base@1.0.0', 'sensor@0.9.0']);
  t.deepEqual(await get('label=channel=stable&label=hw=esp32&name=base'), ['base@1.2.0', 'base@1.0.0']);
  t.deepEqual(await get('label=channel=nightly'), []);
  t.deepEqual(await get('label=channel=stable&label=channel=beta'), [], 'AND, not OR');
  t.deepEqual(await get(`range=${encodeURIComponent('^1.1')}`), ['base@1.2.0', 'base@1.1.0']);
  t.deepEqual(await get(`range=${encodeURIComponent('>=1.2 <3')}&name=base`), ['base@2.0.0', 'base@2.0.0-rc.1', 'base@2.0.0-beta.1', 'base@1.2.0']);
  t.deepEqual(await get(`range=${encodeURIComponent('>=1.2 <3')}&name=base&prerelease=false`), ['base@2.0.0', 'base@1.2.0']);
  t.deepEqual(await get('prerelease=false&label=channel=beta'), ['base@2.0.0']);
  t.deepEqual(await get('version=2.0.0-rc.1'), ['base@2.0.0-rc.1']);
  t.deepEqual(await get(`label=${encodeURIComponent('hw=esp8266')}`), ['base@1.1.0'], 'the = may be percent-encoded');
});

test('queries: an invalid range, label filter, prerelease or an unknown parameter is 400 QUERY_INVALID', async (t) => {
  const registry = await catalogue(t);
  for (const query of ['range=not-a-range', 'range=%5E%5E1', 'label=channel', 'label=%3Dstable', `label=k=${'v'.repeat(257)}`, 'prerelease=maybe', 'lable=channel=stable', 'name=a&name=b']) {
    const answer = await registry.get(`/firmware?${query}`);
    t.is(answer.status, 400, query);
    t.is(answer.json().error.code, 'QUERY_INVALID', query);
  }
});

test('queries: repeated label filters count once; more than 64 distinct ones are 400 QUERY_INVALID on every route', async (t) => {
  const registry = await startRegistry(t);
  const many = Object.fromEntries(Array.from({ length: 64 }, (_, i) => [`k${i}`, 'v']));
  t.is((await registry.publish({ name: 'base', version: '1.0.0', labels: { c: 's' } }, firmwareBytes(64))).status, 201);
  t.is((await registry.publish({ name: 'base', version: '1.1.0', labels: many }, firmwareBytes(64))).status, 201);
  const filters = (pairs: string[]) => pairs.map((pair) => `label=${pair}`).join('&');
  const routes = (query: string) => [`/firmware?${query}`, `/firmware/base/latest?${query}`, `/updates/base?current=0.1.0&${query}`];
  const answers = async (query: string) => Promise.all(routes(query).map(async (url) => (await registry.get(url)).status));

  const repeated = filters(Array.from({ length: 1000 }, () => 'c=s'));
  t.deepEqual(versions((await registry.get(`/firmware?${repeated}`)).json()), ['base@1.0.0'], 'a thousand times one filter is one filter');
  t.deepEqual(await answers(repeated), [200, 302, 200]);

  const sixtyFour = filters(Object.keys(many).map((key) => `${key}=v`));
  t.deepEqual(versions((await registry.get(`/firmware?${sixtyFour}`)).json()), ['base@1.1.0'], 'as many filters as a version has labels');
  t.deepEqual(await answers(sixtyFour), [200, 302, 200]);

  for (const query of [`${sixtyFour}&label=k64=v`, filters(Array.from({ length: 900 }, (_, i) => `k=${i}`))]) {
    for (const url of routes(query)) {
      const answer = await registry.get(url);
      t.is(answer.status, 400, url.slice(0, 40));
      t.like(answer.json().error, { code: 'QUERY_INVALID', details: { parameter: 'label', limit: 64 } });
    }
  }
  const conflicting = filters(['c=s', 'c=t']);
  t.deepEqual(await answers(conflicting), [200, 404, 204], 'one key, two values: nothing matches');
});

test('latest: 302 to the highest release; pre-releases only with prerelease=true; filters apply', async (t) => {
  const registry = await catalogue(t);
  const latest = async (query = '') => {
    const answer = await registry.get(`/firmware/base/latest${query}`);
    return answer.status === 302 ? answer.headers.location : answer.status;
  };
  t.is(await latest(), '/firmware/base/2.0.0');
  t.is(await latest('?label=channel=stable'), '/firmware/base/1.2.0');
  t.is(await latest('?label=channel=stable&label=hw=esp8266'), '/firmware/base/1.1.0');
  t.is(await latest(`?range=${encodeURIComponent('<2')}`), '/firmware/base/1.2.0');
  t.is(await latest(`?range=${encodeURIComponent('<2.0.0')}&prerelease=true`), '/firmware/base/2.0.0-rc.1');
  t.is(await latest('?label=channel=nightly'), 404);
  t.is(await latest('?version=1.0.0'), 400, 'latest takes filters, not a version');
  const followed = await registry.get('/firmware/base/latest');
  t.is((await registry.get(String(followed.headers.location))).status, 200);
  t.is((await registry.get('/firmware/nothing/latest')).status, 404);
});

test('latest and updates: URLs are absolute with PUBLIC_URL', async (t) => {
  const registry = await catalogue(t, { PUBLIC_URL: 'https://fw.example.com/registry/' });
  t.is((await registry.get('/firmware/base/latest')).headers.location, 'https://fw.example.com/registry/firmware/base/2.0.0');
  t.is((await registry.get('/updates/base?current=1.0.0')).json().url, 'https://fw.example.com/registry/firmware/base/2.0.0');
});

test('updates: 200 with the record and its URL when something newer matches, 204 when current', async (t) => {
  const registry = await catalogue(t);
  const answer = await registry.get('/updates/base?current=1.0.0&label=channel=stable');
  t.is(answer.status, 200);
  const body = answer.json();
  t.like(body, { name: 'base', version: '1.2.0', size: 256, labels: { channel: 'stable', hw: 'esp32' }, url: '/firmware/base/1.2.0' });
  t.regex(body.sha256, /^sha256:[0-9a-f]{64}$/);
  t.regex(body.created_at, /Z$/);
  t.is(answer.headers['cache-control'], 'no-cache');

  t.is((await registry.get('/updates/base?current=1.2.0&label=channel=stable')).status, 204);
  t.is((await registry.get('/updates/base?current=3.0.0')).status, 204, 'newer than anything published');
  t.is((await registry.get('/updates/base?current=1.2.0')).json().version, '2.0.0');
  t.is((await registry.get('/updates/base?current=2.0.0-beta.1&prerelease=true&label=channel=beta')).json().version, '2.0.0');
  t.is((await registry.get(`/updates/base?current=1.0.0&range=${encodeURIComponent('~1.0 || ~1.1')}`)).json().version, '1.1.0');
  t.is((await registry.get('/updates/base?current=1.2.0%2Bbuild.9&label=channel=stable')).status, 204, 'build metadata does not count');
  t.is((await registry.get('/updates/base?current=1.2.0+build.9&label=channel=stable')).status, 204, 'a + sent unencoded is still a +');
});

test('updates: its own ETag; If-None-Match gets 304 until the answer changes', async (t) => {
  const registry = await catalogue(t);
  const first = await registry.get('/updates/base?current=1.0.0&label=channel=stable');
  const etag = String(first.headers.etag);
  t.regex(etag, /^"[A-Za-z0-9_-]+"$/);
  const again = await registry.get('/updates/base?current=1.0.0&label=channel=stable', { 'If-None-Match': etag });
  t.is(again.status, 304);
  t.is(again.body.length, 0);
  await registry.publish({ name: 'base', version: '1.3.0', labels: { channel: 'stable' } }, firmwareBytes(100));
  const changed = await registry.get('/updates/base?current=1.0.0&label=channel=stable', { 'If-None-Match': etag });
  t.is(changed.status, 200);
  t.is(changed.json().version, '1.3.0');
  t.not(changed.headers.etag, etag);
});

test('updates: a current that is not SemVer is 400; no current is 400; an unknown name is 404', async (t) => {
  const registry = await catalogue(t);
  t.is((await registry.get('/updates/base?current=v1')).json().error.code, 'VERSION_INVALID');
  t.is((await registry.get('/updates/base?current=v1')).status, 400);
  t.is((await registry.get('/updates/base')).json().error.code, 'QUERY_INVALID');
  t.is((await registry.get('/updates/nothing?current=1.0.0')).status, 404);
  t.is((await registry.get('/updates/base?current=1.0.0&range=nope')).status, 400);
});

for (const kind of STORES) {
  storeTest(kind)(titled(kind, 'PATCH replaces the labels, durably, and queries see it at once'), async (t) => {
    const registry = await catalogue(t, await storeEnv(kind));
    const promote = await patch(registry, '/firmware/base/2.0.0', { labels: { channel: 'stable', hw: 'esp32' } });
    t.is(promote.status, 200);
    t.like(promote.json(), { name: 'base', version: '2.0.0', labels: { channel: 'stable', hw: 'esp32' } });
    t.is((await registry.get('/firmware/base/latest?label=channel=stable')).headers.location, '/firmware/base/2.0.0');
    await registry.restart();
    t.deepEqual((await registry.get('/firmware?version=2.0.0')).json()[0].labels, { channel: 'stable', hw: 'esp32' });
    t.deepEqual(versions((await registry.get('/firmware?label=channel=beta')).json()), ['base@2.0.0-rc.1', 'base@2.0.0-beta.1']);
  });
}

test('PATCH refuses what is not {labels} JSON, and unknown versions', async (t) => {
  const registry = await catalogue(t);
  t.is((await patch(registry, '/firmware/base/9.9.9', { labels: {} })).status, 404);
  t.is((await patch(registry, '/firmware/base/1.0.0', { labels: { app: 1 } })).json().error.code, 'LABELS_INVALID');
  t.is((await patch(registry, '/firmware/base/1.0.0', { labels: {}, name: 'x' })).json().error.code, 'METADATA_INVALID');
  t.is((await patch(registry, '/firmware/base/1.0.0', '{"labels":')).json().error.code, 'METADATA_INVALID');
  const form = await request(`${registry.url}/firmware/base/1.0.0`, { method: 'PATCH', headers: { 'Content-Type': 'text/plain' }, body: '{}' });
  t.is(form.status, 415);
  t.deepEqual((await registry.get('/firmware?version=1.0.0')).json()[0].labels, { channel: 'stable', hw: 'esp32' });
});

for (const kind of STORES) {
  storeTest(kind)(titled(kind, 'DELETE removes the version, its link, and its blob once nothing references it'), async (t) => {
    const env = await storeEnv(kind);
    const registry = await startRegistry(t, env);
    const shared = firmwareBytes(1000);
    const alone = firmwareBytes(1000);
    await registry.publish({ name: 'base', version: '1.0.0' }, shared);
    await registry.publish({ name: 'base', version: '1.0.1' }, shared);
    await registry.publish({ name: 'base', version: '2.0.0' }, alone);
    const stored = async () => (await storeContents(env, registry.dataDir)).blobs;
    t.is((await registry.get('/firmware/base/2.0.0')).status, 200, 'downloaded (and cached) before');
    t.is((await registry.get('/firmware/base/2.0.0', { Range: 'bytes=0-99' })).status, 206, 'a small range too (BLOB_CACHE_BYTES)');

    t.is((await request(`${registry.url}/firmware/base/2.0.0`, { method: 'DELETE' })).status, 204);
    t.is((await registry.get('/firmware/base/2.0.0')).status, 404);
    t.is((await registry.get(`/blobs/sha256/${sha256(alone).slice(7)}`)).status, 404);
    t.is((await registry.get(`/blobs/sha256/${sha256(alone).slice(7)}`, { Range: 'bytes=0-99' })).status, 404, 'no cached bytes of the deleted blob');
    t.false((await stored()).includes(sha256(alone)));
    // The version tree is a view of the file system: only the file-system store has one.
    if (kind === 'fs') await t.throwsAsync(fs.access(path.join(registry.dataDir, 'base', '2.0.0')));

    t.is((await request(`${registry.url}/firmware/base/1.0.0`, { method: 'DELETE' })).status, 204);
    t.true((await stored()).includes(sha256(shared)), 'still referenced by 1.0.1');
    t.true((await registry.get('/firmware/base/1.0.1')).body.equals(shared));
    t.is((await request(`${registry.url}/firmware/base/1.0.0`, { method: 'DELETE' })).status, 404);

    await registry.restart();
    t.deepEqual(versions((await registry.get('/firmware')).json()), ['base@1.0.1']);
  });
}

test('PATCH and DELETE need a token when tokens are set', async (t) => {
  const registry = await catalogue(t, { REGISTRY_TOKENS: 'secret' });
  t.is((await patch(registry, '/firmware/base/1.0.0', { labels: {} })).status, 401);
  t.is((await request(`${registry.url}/firmware/base/1.0.0`, { method: 'DELETE', headers: { Authorization: 'Bearer wrong' } })).status, 403);
  t.is((await request(`${registry.url}/gc`, { method: 'POST' })).status, 401);
  t.is((await patch(registry, '/firmware/base/1.0.0', { labels: {} }, { Authorization: 'Bearer secret' })).status, 200);
  t.is((await request(`${registry.url}/firmware/base/1.0.0`, { method: 'DELETE', headers: { Authorization: 'Bearer secret' } })).status, 204);
});

// On the file system, with the version tree (links, foreign files) and backdated files; the
// S3 variant below cannot backdate objects, so it uses the command line's --grace 0 instead.
test('gc removes old unreferenced blobs, old temp files and stale links; keeps fresh ones; dry_run only reports', async (t) => {
  const registry = await startRegistry(t);
  const kept = firmwareBytes(100);
  await registry.publish({ name: 'base', version: '1.0.0' }, kept);
  const old = firmwareBytes(300);
  const fresh = firmwareBytes(200);
  const oldBlob = await storeUnpublished(registry.dataDir, old, 2 * 3600_000);
  const freshBlob = await storeUnpublished(registry.dataDir, fresh);
  const twoHoursAgo = new Date(Date.now() - 2 * 3600_000);
  const staleTemp = path.join(registry.dataDir, '.tmp', 'abandoned.blob');
  await fs.writeFile(staleTemp, 'half an upload');
  await fs.utimes(staleTemp, twoHoursAgo, twoHoursAgo);
  // Not ours: a file put in the tree by hand (say, a Go registry's tree copied in) stays.
  await fs.mkdir(path.join(registry.dataDir, 'ghost', '0.1.0'), { recursive: true });
  await fs.writeFile(path.join(registry.dataDir, 'ghost', '0.1.0', 'firmware.bin'), 'left by hand');
  // Ours: links to a stored blob whose version is gone; the old one goes, the young one stays.
  for (const [version, age] of [['0.2.0', 2 * 3600_000], ['0.3.0', 0]] as const) {
    const folder = path.join(registry.dataDir, 'stale', version);
    await fs.mkdir(folder, { recursive: true });
    await fs.link(freshBlob, path.join(folder, 'firmware.bin'));
    const when = new Date(Date.now() - age);
    await fs.utimes(folder, when, when);
  }

  const dry = await request(`${registry.url}/gc?dry_run=true`, { method: 'POST' });
  t.deepEqual(dry.json(), {
    dry_run: true,
    blobs: [{ sha256: sha256(old), size: 300 }],
    young_blobs: 1,
    temp_files: ['abandoned.blob'],
    links: [{ name: 'stale', version: '0.2.0' }],
    young_links: 1,
    foreign_files: 1,
    bytes: 300,
  });
  await t.notThrowsAsync(fs.access(oldBlob), 'a dry run removes nothing');

  const real = await request(`${registry.url}/gc`, { method: 'POST' });
  t.is(real.json().bytes, 300);
  await t.throwsAsync(fs.access(oldBlob));
  await t.notThrowsAsync(fs.access(freshBlob), 'a fresh orphan stays');
  await t.throwsAsync(fs.access(staleTemp));
  await t.notThrowsAsync(fs.access(path.join(registry.dataDir, 'ghost', '0.1.0', 'firmware.bin')), 'a file gc did not make stays');
  await t.throwsAsync(fs.access(path.join(registry.dataDir, 'stale', '0.2.0')));
  await t.notThrowsAsync(fs.access(path.join(registry.dataDir, 'stale', '0.3.0', 'firmware.bin')), 'a young link stays');
  t.true((await registry.get('/firmware/base/1.0.0')).body.equals(kept));
  t.is((await request(`${registry.url}/gc?dry_run=maybe`, { method: 'POST' })).status, 400);
});

storeTest('s3')('gc [s3]: unreferenced blobs and temp entries stay while younger than the grace period, then go; dry_run only reports', async (t) => {
  // The embedded index: the command line's gc below runs on the same REGISTRY_DB once the server stops.
  const env = await storeEnv('s3', {}, { index: 'embedded' });
  const registry = await startRegistry(t, env);
  const kept = firmwareBytes(100);
  await registry.publish({ name: 'base', version: '1.0.0' }, kept);
  const orphan = await putUnpublished(env, registry.dataDir, firmwareBytes(300));
  const storage = await openStorage(loadBlobStoreConfig(env, []), registry.dataDir);
  t.teardown(() => storage.close());
  const staged = await storage.store.stage(Readable.from([firmwareBytes(50)]));
  t.is((await storeContents(env, registry.dataDir)).temp.length, 1);

  // Through HTTP, with the grace period of an hour: everything is young, nothing goes.
  const young = await request(`${registry.url}/gc?dry_run=true`, { method: 'POST' });
  t.like(young.json(), { dry_run: true, blobs: [], young_blobs: 1, temp_files: [], bytes: 0 });
  t.like((await request(`${registry.url}/gc`, { method: 'POST' })).json(), { blobs: [], young_blobs: 1 });
  t.deepEqual((await storeContents(env, registry.dataDir)).blobs, [sha256(kept), orphan.digest].sort());

  // From the command line (the server stopped: the index is free), with no grace period.
  await registry.close();
  const cwd = { cwd: registry.home, env: { ...env, REGISTRY_DB: registry.dbFile } };
  const dry = await cli(['gc', '--grace', '0', '--dry-run'], cwd);
  t.is(dry.code, 0, dry.stderr);
  t.is((await storeContents(env, registry.dataDir)).temp.length, 1, 'a dry run removes nothing');
  const collected = await cli(['gc', '--grace', '0'], cwd);
  t.is(collected.code, 0, collected.stderr);
  t.regex(collected.stdout, /removed 1 blob/);
  t.deepEqual(await storeContents(env, registry.dataDir), { blobs: [sha256(kept)], temp: [] });
  await staged.discard();
});

function patch(registry: TestRegistry, url: string, body: unknown, headers: Record<string, string> = {}) {
  return request(`${registry.url}${url}`, {
    method: 'PATCH',
    headers: { 'Content-Type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}
