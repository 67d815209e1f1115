import { spawnSync } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { FsBlobStore } from '../src/cas/fs-blob-store.js';
import { fsck } from '../src/fsck.js';
import { EmbeddedIndex } from '../src/index/embedded-index.js';
import { VersionTree } from '../src/version-tree.js';
import { spawnServer } from './helpers/child-server.js';
import { firmwareBytes } from './helpers/fixtures.js';
import { request } from './helpers/http.js';
import { firmwareUpload } from './helpers/multipart.js';
import { startRegistry } from './helpers/registry-server.js';
import { cli } from './helpers/run-cli.js';
import { listTree, tempDir } from './helpers/temp-dir.js';

/** A registry in its own process, so this one can block while it deletes (spawnSync). */
async function registryWithTwoVersions(t: ExecutionContext) {
  const home = await tempDir(t);
  const server = await spawnServer(t, home);
  for (const version of ['1.0.0', '2.0.0']) {
    const upload = firmwareUpload({ name: 'base', version }, firmwareBytes(200_000));
    const answer = await request(`${server.url}/firmware`, { method: 'POST', headers: { 'Content-Type': upload.contentType }, body: upload.body });
    t.is(answer.status, 201);
  }
  const dataDir = path.join(home, 'registry');
  const dbFile = path.join(home, 'registry.db');
  const store = await FsBlobStore.open(dataDir);
  return { url: server.url, dbFile, store, view: new VersionTree(store) };
}

test('fsck: a version deleted between listing the blobs and hashing them is not damage', async (t) => {
  const { url, dbFile, store, view } = await registryWithTwoVersions(t);
  const records = await EmbeddedIndex.readSnapshot(dbFile);
  let deleted = false;
  const report = await fsck({ store, view, records, reread: () => EmbeddedIndex.readSnapshot(dbFile) }, () => {
    // The first report comes after the blobs are listed and before any is hashed.
    if (deleted) return;
    deleted = true;
    t.is(spawnSync('curl', ['-sSf', '-X', 'DELETE', `${url}/firmware/base/2.0.0`]).status, 0);
  });
  t.deepEqual(report.problems, []);
  t.is(report.blobs, 1);
});

test('fsck: a version deleted after fsck read the index is not damage', async (t) => {
  const { url, dbFile, store, view } = await registryWithTwoVersions(t);
  const records = await EmbeddedIndex.readSnapshot(dbFile);
  t.is((await request(`${url}/firmware/base/2.0.0`, { method: 'DELETE' })).status, 204);
  const report = await fsck({ store, view, records, reread: () => EmbeddedIndex.readSnapshot(dbFile) });
  t.deepEqual(report.problems, []);
  t.is(report.blobs, 1);
});

test('fsck: a copy of the index and the blobs alone passes; missing version links are notes; nothing is created', async (t) => {
  const registry = await startRegistry(t);
  await registry.publish({ name: 'base', version: '1.0.0' }, firmwareBytes(1000));
  await registry.publish({ name: 'base', version: '1.1.0' }, firmwareBytes(1000));
  await registry.close();
  const copy = await tempDir(t);
  await fs.cp(path.join(registry.dataDir, '.blobs'), path.join(copy, 'registry', '.blobs'), { recursive: true });
  // The index is the snapshot and its journal segments.
  for (const name of await fs.readdir(path.dirname(registry.dbFile))) {
    if (name === 'registry.db' || name.startsWith('registry.db.journal.')) await fs.copyFile(path.join(path.dirname(registry.dbFile), name), path.join(copy, name));
  }
  const before = await listTree(copy);

  const result = await cli(['fsck', '--dir', 'registry', '--db', 'registry.db'], { cwd: copy });
  t.is(result.code, 0, result.stdout + result.stderr);
  t.is(result.stdout, '', 'no problems');
  t.regex(result.stderr, /base\/1\.0\.0\/firmware\.bin/);
  t.regex(result.stderr, /base\/1\.1\.0\/firmware\.bin/);
  t.regex(result.stderr, /2 versions, 2 blobs.*no damage/);
  t.deepEqual(await listTree(copy), before, 'fsck only reads: no .tmp, no links');
});
