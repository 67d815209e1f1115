import fs from 'node:fs/promises';
import path from 'node:path';
import test from 'ava';
import { listSegments } from '../../src/index/journal-files.js';
import { faultTest, immutable } from '../helpers/chattr.js';
import { spawnServer, type ChildServer } from '../helpers/child-server.js';
import { firmwareBytes, sha256 } from '../helpers/fixtures.js';
import { request } from '../helpers/http.js';
import { firmwareUpload } from '../helpers/multipart.js';
import { startRegistry } from '../helpers/registry-server.js';
import { tempDir } from '../helpers/temp-dir.js';

function publishTo(url: string, metadata: unknown, bytes: Buffer) {
  const upload = firmwareUpload(metadata, bytes);
  return request(`${url}/firmware`, { method: 'POST', headers: { 'Content-Type': upload.contentType, 'Content-Length': upload.body.length }, body: upload.body });
}

function blobPath(dataDir: string, bytes: Buffer): string {
  const hex = sha256(bytes).slice(7);
  return path.join(dataDir, '.blobs', 'sha256', hex.slice(0, 2), hex);
}

async function kill(server: ChildServer): Promise<void> {
  server.child.kill('SIGKILL');
  await server.exited;
}

faultTest('fault: changes answered 503 because the index could not be written are not there after a restart', async (t) => {
  const registry = await startRegistry(t);
  const kept = firmwareBytes();
  t.is((await registry.publish({ name: 'base', version: '1.0.0' }, kept)).status, 201);
  const [segment] = await listSegments(registry.dbFile);
  const clear = immutable(t, segment!.file);

  const refused = await Promise.all([
    ...Array.from({ length: 6 }, (_, i) => registry.publish({ name: 'base', version: `2.0.${i}` }, firmwareBytes())),
    request(`${registry.url}/firmware/base/1.0.0`, { method: 'DELETE' }),
  ]);
  t.deepEqual(refused.map((answer) => answer.status), [503, 503, 503, 503, 503, 503, 503]);
  t.is(refused[0]!.json().error.code, 'UNAVAILABLE');
  t.true(refused.every((answer) => answer.headers['retry-after'] === '2'), 'every 503 says when to retry (RFC 9110 §10.2.3)');
  t.deepEqual((await registry.get('/firmware?name=base')).json().map((row: { version: string }) => row.version), ['1.0.0'], 'nothing refused is visible');
  clear();

  const later = await Promise.all(Array.from({ length: 3 }, (_, i) => registry.publish({ name: 'base', version: `3.0.${i}` }, firmwareBytes())));
  t.deepEqual(later.map((answer) => answer.status), [201, 201, 201], 'writes work again once the fault is gone');
  await registry.restart();
  const listed = (await registry.get('/firmware?name=base')).json().map((row: { version: string }) => row.version);
  t.deepEqual(listed, ['3.0.2', '3.0.1', '3.0.0', '1.0.0'], 'exactly what was acknowledged');
  t.true((await registry.get('/firmware/base/1.0.0')).body.equals(kept), 'the refused DELETE left the version and its bytes');
});

faultTest('fault: /health names the dependency that is down, with Retry-After, and downloads go on', async (t) => {
  const registry = await startRegistry(t);
  const bytes = firmwareBytes();
  t.is((await registry.publish({ name: 'base', version: '1.0.0' }, bytes)).status, 201);
  const clear = immutable(t, path.join(registry.dataDir, '.tmp'));
  const health = await registry.get('/health');
  t.is(health.status, 503);
  t.is(health.headers['retry-after'], '2');
  t.like(health.json().error, { code: 'UNAVAILABLE', details: { dependency: 'blob store', down: ['blob store'] } });
  t.regex(health.json().error.message, /blob store \(the data folder does not take writes/);
  t.true((await registry.get('/firmware/base/1.0.0')).body.equals(bytes), 'what is stored is still served');
  clear();
  t.is((await registry.get('/health')).status, 200);
});

test('fault: gc racing a DELETE never removes bytes of a version that is still published after a kill -9', async (t) => {
  const home = await tempDir(t);
  const dataDir = path.join(home, 'registry');
  let checked = 0;
  for (let round = 0; round < 3; round++) {
    let server = await spawnServer(t, home);
    const versions = Array.from({ length: 12 }, (_, i) => ({ version: `${round}.0.${i}`, bytes: firmwareBytes(2048) }));
    for (const { version, bytes } of versions) t.is((await publishTo(server.url, { name: 'race', version }, bytes)).status, 201);
    // Old enough for gc's grace period: only the index decides whether they may go.
    const old = new Date(Date.now() - 3 * 3600_000);
    for (const { bytes } of versions) await fs.utimes(blobPath(dataDir, bytes), old, old);

    const gone = (async () => {
      for (;;) {
        for (const { bytes } of versions) {
          if (!(await fs.access(blobPath(dataDir, bytes)).then(() => true, () => false))) return;
        }
        await new Promise((resolve) => setImmediate(resolve));
      }
    })();
    const traffic = Promise.allSettled([
      // Every other version is deleted; the rest stay published, as old as the deleted ones.
      ...versions.filter((_, i) => i % 2 === 0).map(({ version }) => request(`${server.url}/firmware/race/${version}`, { method: 'DELETE' })),
      request(`${server.url}/gc`, { method: 'POST' }),
      request(`${server.url}/gc`, { method: 'POST' }),
    ]);
    await gone;
    await kill(server);
    await traffic;

    server = await spawnServer(t, home);
    const listed = (await request(`${server.url}/firmware?name=race`)).json<{ version: string }[]>();
    t.true(versions.filter((_, i) => i % 2 === 1).every(({ version }) => listed.some((row) => row.version === version)), 'versions never deleted are listed');
    for (const { version } of listed) {
      const expected = versions.find((entry) => entry.version === version);
      if (!expected) continue;
      const download = await request(`${server.url}/firmware/race/${version}`);
      t.is(download.status, 200, `${version} is listed, so its bytes are there`);
      t.true(download.body.equals(expected.bytes));
      checked++;
    }
    await kill(server);
  }
  t.log(`${checked} versions still published after a kill were checked`);
});

test('fault: eight servers started at once on one index after a kill -9: exactly one serves, and nothing acknowledged is lost', async (t) => {
  const home = await tempDir(t);
  const first = await spawnServer(t, home);
  t.is((await publishTo(first.url, { name: 'base', version: '1.0.0' }, firmwareBytes())).status, 201);
  await kill(first);

  const starts = await Promise.allSettled(Array.from({ length: 8 }, () => spawnServer(t, home)));
  const serving = starts.filter((start): start is PromiseFulfilledResult<ChildServer> => start.status === 'fulfilled').map((start) => start.value);
  t.is(serving.length, 1, 'one winner');
  for (const start of starts) if (start.status === 'rejected') t.regex(String(start.reason), /INDEX_LOCKED|in use by/);
  const [winner] = serving;
  t.is((await publishTo(winner!.url, { name: 'base', version: '2.0.0' }, firmwareBytes())).status, 201);
  await kill(winner!);

  const after = await spawnServer(t, home);
  t.deepEqual((await request(`${after.url}/firmware?name=base`)).json<{ version: string }[]>().map((row) => row.version), ['2.0.0', '1.0.0']);
});

test('fault: past the file system\'s hard-link limit a version gets a copy; publish and start-up go on', async (t) => {
  const registry = await startRegistry(t);
  const bytes = firmwareBytes(1024);
  t.is((await registry.publish({ name: 'many', version: '1.0.0' }, bytes)).status, 201);
  // Use up the blob's links (65,000 on ext4) from a folder beside the tree.
  const blob = blobPath(registry.dataDir, bytes);
  const filler = path.join(registry.home, 'links');
  await fs.mkdir(filler);
  let made = 0;
  for (;;) {
    try {
      await fs.link(blob, path.join(filler, String(made)));
      made++;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EMLINK') break;
      throw error;
    }
    if (made > 200_000) return void t.pass('skipped: this file system has no hard-link limit to reach');
  }
  t.log(`the blob reached its link limit after ${made} more links`);

  t.is((await registry.publish({ name: 'many', version: '2.0.0' }, bytes)).status, 201);
  const view = path.join(registry.dataDir, 'many', '2.0.0', 'firmware.bin');
  t.true(bytes.equals(await fs.readFile(view)), 'the view holds a copy');
  await registry.restart();
  t.true((await registry.get('/firmware/many/2.0.0')).body.equals(bytes));
  const listening = registry.logs.findLast((line) => line.msg === 'spore-registry listening');
  t.truthy(listening, 'start-up went on');
  t.false(registry.logs.some((line) => line.level === 'error'), 'nothing failed');
  t.is((await request(`${registry.url}/firmware/many/2.0.0`, { method: 'DELETE' })).status, 204);
  await t.throwsAsync(fs.access(view), undefined, 'the copy goes with its version');
});
