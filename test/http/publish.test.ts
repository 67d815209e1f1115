import fs from 'node:fs/promises';
import path from 'node:path';
import test from 'ava';
import { digestHex } from '../../src/digest.js';
import { firmwareBytes, sha256 } from '../helpers/fixtures.js';
import { multipart } from '../helpers/multipart.js';
import { startRegistry } from '../helpers/registry-server.js';
import { STORES, storeContents, storeEnv, storeTest, titled } from '../helpers/stores.js';
import { listTree } from '../helpers/temp-dir.js';

for (const store of STORES) {
  storeTest(store)(titled(store, 'publish: upload, list and download give back the identical bytes'), async (t) => {
    const registry = await startRegistry(t, await storeEnv(store));
    const bytes = firmwareBytes(200_000);
    const published = await registry.publish({ name: 'base', version: '1.0.0', labels: { app: 'base' } }, bytes);
    t.is(published.status, 201);
    const body = published.json();
    t.like(body, {
      success: true,
      name: 'base',
      version: '1.0.0',
      size: bytes.length,
      sha256: sha256(bytes),
      labels: { app: 'base' },
      deduplicated: false,
    });
    t.regex(body.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);

    const list = await registry.get('/firmware');
    t.deepEqual(list.json(), [
      { name: 'base', version: '1.0.0', size: bytes.length, sha256: sha256(bytes), labels: { app: 'base' }, created_at: body.created_at },
    ]);

    const download = await registry.get('/firmware/base/1.0.0');
    t.is(download.status, 200);
    t.true(download.body.equals(bytes));
  });
}

test('publish: the blob is stored once and the version file is a hard link to it', async (t) => {
  const registry = await startRegistry(t);
  const bytes = firmwareBytes();
  await registry.publish({ name: 'base', version: '1.0.0' }, bytes);
  const hex = digestHex(sha256(bytes));
  const blob = path.join(registry.dataDir, '.blobs', 'sha256', hex.slice(0, 2), hex);
  const link = path.join(registry.dataDir, 'base', '1.0.0', 'firmware.bin');
  const [blobStat, linkStat] = await Promise.all([fs.stat(blob), fs.stat(link)]);
  t.is(linkStat.ino, blobStat.ino);
  t.is(blobStat.nlink, 2);
  t.is(blobStat.mode & 0o777, 0o444);
  t.true(bytes.equals(await fs.readFile(link)));
  t.deepEqual(await listTree(registry.dataDir), [
    '.blobs/',
    '.blobs/sha256/',
    `.blobs/sha256/${hex.slice(0, 2)}/`,
    `.blobs/sha256/${hex.slice(0, 2)}/${hex}`,
    '.tmp/',
    'base/',
    'base/1.0.0/',
    'base/1.0.0/firmware.bin',
  ]);
});

for (const store of STORES) {
  storeTest(store)(titled(store, 'publish: identical bytes under other versions share one blob'), async (t) => {
    const env = await storeEnv(store);
    const registry = await startRegistry(t, env);
    const bytes = firmwareBytes();
    const first = await registry.publish({ name: 'base', version: '1.0.0' }, bytes);
    const second = await registry.publish({ name: 'base', version: '1.0.1' }, bytes);
    const third = await registry.publish({ name: 'sensor', version: '3.0.0' }, bytes);
    t.deepEqual([first.status, second.status, third.status], [201, 201, 201]);
    t.deepEqual([first.json().deduplicated, second.json().deduplicated, third.json().deduplicated], [false, true, true]);
    t.deepEqual(await storeContents(env, registry.dataDir), { blobs: [sha256(bytes)], temp: [] });
    if (store === 'fs') {
      const hex = digestHex(sha256(bytes));
      t.is((await fs.stat(path.join(registry.dataDir, '.blobs', 'sha256', hex.slice(0, 2), hex))).nlink, 4, 'one blob, three version links');
    }
  });
}

for (const store of STORES) {
  storeTest(store)(titled(store, 'publish: the same version with the same bytes again is 200 with the original record'), async (t) => {
    const env = await storeEnv(store);
    const registry = await startRegistry(t, env);
    const bytes = firmwareBytes();
    const first = await registry.publish({ name: 'base', version: '1.0.0', labels: { channel: 'beta' } }, bytes);
    const again = await registry.publish({ name: 'base', version: '1.0.0', labels: { channel: 'beta' } }, bytes);
    t.is(again.status, 200);
    t.deepEqual(again.json(), { ...first.json(), deduplicated: true });
    t.deepEqual((await storeContents(env, registry.dataDir)).temp, []);
  });
}

for (const store of STORES) {
  storeTest(store)(titled(store, 'publish: the same version with other bytes is 409 and the stored version is untouched'), async (t) => {
    const env = await storeEnv(store);
    const registry = await startRegistry(t, env);
    const original = firmwareBytes();
    await registry.publish({ name: 'base', version: '1.0.0' }, original);
    const treeBefore = await listTree(registry.dataDir).catch(() => []);
    const conflicting = firmwareBytes();
    const answer = await registry.publish({ name: 'base', version: '1.0.0' }, conflicting);
    t.is(answer.status, 409);
    t.like(answer.json(), {
      success: false,
      error: { code: 'VERSION_EXISTS', details: { published: sha256(original), uploaded: sha256(conflicting) } },
    });
    t.deepEqual(await listTree(registry.dataDir).catch(() => []), treeBefore, 'no blob of the refused bytes, nothing in .tmp');
    t.deepEqual(await storeContents(env, registry.dataDir), { blobs: [sha256(original)], temp: [] });
    t.true((await registry.get('/firmware/base/1.0.0')).body.equals(original));
  });
}

for (const store of STORES) {
  storeTest(store)(titled(store, 'publish: concurrent publishes of one version have exactly one winner'), async (t) => {
    const env = await storeEnv(store);
    const registry = await startRegistry(t, env);
    const candidates = Array.from({ length: 6 }, () => firmwareBytes(50_000));
    const same = candidates[0] as Buffer;
    const uploads = [...candidates, same, same].map((bytes) => registry.publish({ name: 'race', version: '1.0.0' }, bytes));
    const answers = await Promise.all(uploads);
    const statuses = answers.map((answer) => answer.status);
    t.is(statuses.filter((status) => status === 201).length, 1, `statuses: ${statuses.join(',')}`);
    const winner = answers.find((answer) => answer.status === 201)?.json().sha256;
    answers.forEach((answer, i) => {
      const mine = sha256([...candidates, same, same][i] as Buffer);
      if (answer.status !== 201) t.is(answer.status, mine === winner ? 200 : 409);
    });
    const stored = (await registry.get('/firmware/race/1.0.0')).body;
    t.is(sha256(stored), winner);
    t.deepEqual((await storeContents(env, registry.dataDir)).temp, []);
  });
}

for (const store of STORES) {
  storeTest(store)(titled(store, 'publish: parts may come in either order'), async (t) => {
    const registry = await startRegistry(t, await storeEnv(store));
    const bytes = firmwareBytes();
    const answer = await registry.post(
      multipart([
        { name: 'firmware', filename: 'fw.bin', body: bytes },
        { name: 'metadata', body: JSON.stringify({ name: 'base', version: '1.0.0', labels: { app: 'base' } }) },
      ]),
    );
    t.is(answer.status, 201);
    t.true((await registry.get('/firmware/base/1.0.0')).body.equals(bytes));
  });
}

test('publish: pre-release and build metadata versions are kept exactly as written', async (t) => {
  const registry = await startRegistry(t);
  const answer = await registry.publish({ name: 'base', version: '2.0.0-rc.1+build.7' }, firmwareBytes());
  t.is(answer.status, 201);
  t.is(answer.json().version, '2.0.0-rc.1+build.7');
  t.is((await registry.get('/firmware/base/2.0.0-rc.1+build.7')).status, 200);
  await t.notThrowsAsync(fs.access(path.join(registry.dataDir, 'base', '2.0.0-rc.1+build.7', 'firmware.bin')));
});

for (const store of STORES) {
  storeTest(store)(titled(store, 'publish: a chunked upload without Content-Length works'), async (t) => {
    const registry = await startRegistry(t, await storeEnv(store));
    const bytes = firmwareBytes(300_000);
    const { contentType, body } = multipart([
      { name: 'metadata', body: JSON.stringify({ name: 'base', version: '1.0.0' }) },
      { name: 'firmware', filename: 'fw.bin', body: bytes },
    ]);
    const { request } = await import('../helpers/http.js');
    const answer = await request(`${registry.url}/firmware`, {
      method: 'POST',
      headers: { 'Content-Type': contentType },
      body: (async function* () {
        for (let offset = 0; offset < body.length; offset += 10_000) yield body.subarray(offset, offset + 10_000);
      })(),
    });
    t.is(answer.status, 201);
    t.is(answer.json().sha256, sha256(bytes));
  });
}
