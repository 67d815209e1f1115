import fs from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import test from 'ava';
import { loadConfig } from '../../src/config/config.js';
import { isRegistryError } from '../../src/errors.js';
import { listSegments } from '../../src/index/journal-files.js';
import { silentLogger } from '../../src/log.js';
import { startServer } from '../../src/server.js';
import { firmwareBytes, sha256 } from '../helpers/fixtures.js';
import { firmwareUpload } from '../helpers/multipart.js';
import { startRegistry } from '../helpers/registry-server.js';
import { listTree } from '../helpers/temp-dir.js';
import { waitFor } from '../helpers/wait-for.js';

test('restart: every version, label, digest and byte survives a restart', async (t) => {
  const registry = await startRegistry(t);
  const published = new Map<string, Buffer>();
  for (const version of ['1.0.0', '1.1.0-beta.1', '2.0.0']) {
    const bytes = firmwareBytes(10_000);
    published.set(version, bytes);
    t.is((await registry.publish({ name: 'base', version, labels: { channel: version } }, bytes)).status, 201);
  }
  const listBefore = (await registry.get('/firmware')).json();
  const treeBefore = await listTree(registry.dataDir);

  await registry.restart();

  t.deepEqual((await registry.get('/firmware')).json(), listBefore);
  t.deepEqual(await listTree(registry.dataDir), treeBefore);
  for (const [version, bytes] of published) {
    const answer = await registry.get(`/firmware/base/${version}`);
    t.true(answer.body.equals(bytes), version);
    t.is(answer.headers.etag, `"${sha256(bytes)}"`);
  }
  t.is((await registry.publish({ name: 'base', version: '1.0.0' }, firmwareBytes())).status, 409, 'conflicts are still detected');
});

test('restart: leftovers in .tmp are removed at start-up', async (t) => {
  const registry = await startRegistry(t);
  await registry.close();
  const temp = path.join(registry.dataDir, '.tmp');
  await fs.writeFile(path.join(temp, 'crashed-upload.blob'), firmwareBytes());
  await registry.restart();
  t.deepEqual(await fs.readdir(temp), []);
});

test('restart: missing or replaced version links are re-made from the index', async (t) => {
  const registry = await startRegistry(t);
  const a = firmwareBytes();
  const b = firmwareBytes();
  await registry.publish({ name: 'base', version: '1.0.0' }, a);
  await registry.publish({ name: 'base', version: '2.0.0' }, b);
  await registry.close();
  const linkA = path.join(registry.dataDir, 'base', '1.0.0', 'firmware.bin');
  const linkB = path.join(registry.dataDir, 'base', '2.0.0', 'firmware.bin');
  await fs.rm(path.join(registry.dataDir, 'base', '1.0.0'), { recursive: true });
  await fs.rm(linkB);
  await fs.writeFile(linkB, 'a hand-made copy that is not the blob');

  await registry.restart();

  t.true(a.equals(await fs.readFile(linkA)));
  t.true(b.equals(await fs.readFile(linkB)));
  const blobB = path.join(registry.dataDir, '.blobs', 'sha256', sha256(b).slice(7, 9), sha256(b).slice(7));
  t.is((await fs.stat(linkB)).ino, (await fs.stat(blobB)).ino);
  t.like(registry.logs.findLast((line) => line.msg === 'spore-registry listening'), { relinked: 2 });
});

test('restart: a version whose blob is missing is reported, and the rest is served', async (t) => {
  const registry = await startRegistry(t);
  const kept = firmwareBytes();
  const lost = firmwareBytes();
  await registry.publish({ name: 'base', version: '1.0.0' }, kept);
  await registry.publish({ name: 'base', version: '2.0.0' }, lost);
  await registry.close();
  await fs.rm(path.join(registry.dataDir, '.blobs', 'sha256', sha256(lost).slice(7, 9), sha256(lost).slice(7)));
  await fs.rm(path.join(registry.dataDir, 'base', '2.0.0'), { recursive: true });

  await registry.restart();

  t.like(registry.logs.find((line) => line.msg?.toString().includes('no blob')), { level: 'error', version: '2.0.0', digest: sha256(lost) });
  t.true((await registry.get('/firmware/base/1.0.0')).body.equals(kept));
  const missing = await registry.get('/firmware/base/2.0.0');
  t.is(missing.status, 404);
  t.is(missing.json().error.code, 'BLOB_UNKNOWN');
});

test('restart: a second server on the same index is refused while the first runs', async (t) => {
  const registry = await startRegistry(t);
  const config = loadConfig({ PORT: '0', HOST: '127.0.0.1', REGISTRY_DIR: registry.dataDir, REGISTRY_DB: registry.dbFile });
  const error = await t.throwsAsync(startServer(config, silentLogger));
  t.true(isRegistryError(error, 'INDEX_LOCKED'));
  t.is((await registry.get('/health')).status, 200, 'the first one is unharmed');
});

test('shutdown: an upload in flight when shutdown starts is finished and kept', async (t) => {
  const registry = await startRegistry(t);
  const bytes = firmwareBytes(1_000_000);
  const { contentType, body } = firmwareUpload({ name: 'base', version: '1.0.0' }, bytes);
  const { port } = new URL(registry.url);
  const answered = new Promise<number>((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: '/firmware', method: 'POST', headers: { 'Content-Type': contentType, 'Content-Length': body.length } });
    req.on('response', (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.write(body.subarray(0, 500_000), () => {
      const closed = registry.close();
      setTimeout(() => req.end(body.subarray(500_000)), 200);
      t.teardown(() => closed);
    });
  });
  t.is(await answered, 201);
  await registry.restart();
  t.true((await registry.get('/firmware/base/1.0.0')).body.equals(bytes));
});

test('restart: start-up checks only the links of journalled changes; REPAIR_TREE=all checks every one', async (t) => {
  const registry = await startRegistry(t, { JOURNAL_SNAPSHOT_BYTES: '1K' });
  const bytes = firmwareBytes();
  for (let i = 0; i < 30; i++) t.is((await registry.publish({ name: 'base', version: `1.0.${i}` }, bytes)).status, 201);
  // Fold the journal: those versions' links were made before their changes left it.
  await waitFor(async () => (await listSegments(registry.dbFile)).length === 1);
  await registry.close();
  await fs.rm(path.join(registry.dataDir, 'base', '1.0.0'), { recursive: true });

  await registry.restart();
  const listening = () => registry.logs.findLast((line) => line.msg === 'spore-registry listening');
  t.true(Number(listening()?.linksChecked) < 30, `checked ${String(listening()?.linksChecked)} links, not the whole tree`);
  await t.throwsAsync(fs.access(path.join(registry.dataDir, 'base', '1.0.0', 'firmware.bin')));
  await registry.close();

  const all = await startRegistry(t, { REPAIR_TREE: 'all' }, registry.home);
  t.like(all.logs.findLast((line) => line.msg === 'spore-registry listening'), { linksChecked: 30, relinked: 1 });
  t.true(bytes.equals(await fs.readFile(path.join(registry.dataDir, 'base', '1.0.0', 'firmware.bin'))));
});
