import fs from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import type { ExecutionContext } from 'ava';
import { firmwareBytes, sha256 } from '../helpers/fixtures.js';
import { request, type RawResponse } from '../helpers/http.js';
import { multipart } from '../helpers/multipart.js';
import { startRegistry, type TestRegistry } from '../helpers/registry-server.js';
import { indexState, STORES, storeContents, storeEnv, storeTest, titled } from '../helpers/stores.js';
import { listTree } from '../helpers/temp-dir.js';
import { waitFor } from '../helpers/wait-for.js';

const byDigest = (metadata: Record<string, unknown>) => multipart([{ name: 'metadata', body: JSON.stringify(metadata) }]);

/** The files of the registry's folder, its index, and what its blob store holds (`env` says which). */
async function snapshot(registry: TestRegistry, env: Record<string, string>) {
  return { files: await listTree(registry.home), index: await indexState(env, registry.dbFile), store: await storeContents(env, registry.dataDir) };
}

async function assertUnchanged(t: ExecutionContext, registry: TestRegistry, env: Record<string, string>, before: Awaited<ReturnType<typeof snapshot>>) {
  // A refused upload's temp entry goes once its stream has stopped, a moment after the answer.
  await waitFor(async () => (await storeContents(env, registry.dataDir)).temp.length === 0);
  t.deepEqual(await snapshot(registry, env), before);
}

for (const store of STORES) {
  storeTest(store)(titled(store, 'publish by digest: stored bytes are published under a new version without sending them'), async (t) => {
    const env = await storeEnv(store);
    const registry = await startRegistry(t, env);
    const bytes = firmwareBytes(50_000);
    await registry.publish({ name: 'base', version: '1.0.0' }, bytes);
    const head = await request(`${registry.url}/blobs/sha256/${sha256(bytes).slice(7)}`, { method: 'HEAD' });
    t.is(head.status, 200, 'HEAD on the digest tells the client the bytes are there');

    const answer = await registry.post(byDigest({ name: 'base', version: '1.0.1', sha256: sha256(bytes), labels: { channel: 'beta' } }));
    t.is(answer.status, 201);
    t.like(answer.json(), { success: true, version: '1.0.1', size: bytes.length, sha256: sha256(bytes), deduplicated: true, labels: { channel: 'beta' } });
    t.true((await registry.get('/firmware/base/1.0.1')).body.equals(bytes));
    if (store === 'fs') {
      const link = await fs.stat(path.join(registry.dataDir, 'base', '1.0.1', 'firmware.bin'));
      t.is(link.nlink, 3, 'one blob, two version links');
    }

    const again = await registry.post(byDigest({ name: 'base', version: '1.0.1', sha256: sha256(bytes).slice(7) }));
    t.is(again.status, 200, 'a retry by digest, bare hex, is idempotent');
  });
}

for (const store of STORES) {
  storeTest(store)(titled(store, 'publish by digest: unknown bytes are 404 BLOB_UNKNOWN, a wrong declared size 422, and nothing changes'), async (t) => {
    const env = await storeEnv(store);
    const registry = await startRegistry(t, env);
    const bytes = firmwareBytes(1000);
    await registry.publish({ name: 'base', version: '1.0.0' }, bytes);
    const before = await snapshot(registry, env);
    const unknown = await registry.post(byDigest({ name: 'base', version: '2.0.0', sha256: sha256(firmwareBytes()) }));
    t.is(unknown.status, 404);
    t.is(unknown.json().error.code, 'BLOB_UNKNOWN');
    const wrongSize = await registry.post(byDigest({ name: 'base', version: '2.0.0', sha256: sha256(bytes), size: 999 }));
    t.is(wrongSize.status, 422);
    t.is(wrongSize.json().error.code, 'SIZE_MISMATCH');
    const conflict = await registry.post(byDigest({ name: 'base', version: '1.0.0', sha256: sha256(firmwareBytes()) }));
    t.is(conflict.status, 409, 'another digest for a published version');
    await assertUnchanged(t, registry, env, before);
  });
}

for (const store of STORES) {
  storeTest(store)(titled(store, 'stats: versions, distinct blobs, and the bytes deduplication saves'), async (t) => {
    const registry = await startRegistry(t, await storeEnv(store));
    const shared = firmwareBytes(1000);
    for (const version of ['1.0.0', '1.0.1', '1.0.2']) await registry.publish({ name: 'base', version }, shared);
    await registry.publish({ name: 'other', version: '1.0.0' }, firmwareBytes(500));
    t.deepEqual((await registry.get('/stats')).json(), { versions: 4, blobs: 2, logical_bytes: 3500, stored_bytes: 1500, saved_bytes: 2000 });
  });
}

for (const store of STORES) {
  storeTest(store)(titled(store, 'concurrent publishes of the same bytes under different versions share one blob'), async (t) => {
    const env = await storeEnv(store);
    const registry = await startRegistry(t, env);
    const bytes = firmwareBytes(200_000);
    const versions = Array.from({ length: 12 }, (_, i) => `1.0.${i}`);
    const answers = await Promise.all(versions.map((version) => registry.publish({ name: 'ci', version }, bytes)));
    t.deepEqual(answers.map((answer) => answer.status), versions.map(() => 201));
    t.is(answers.filter((answer) => answer.json().deduplicated === false).length, 1, 'exactly one stored the bytes');
    if (store === 'fs') {
      const blob = path.join(registry.dataDir, '.blobs', 'sha256', sha256(bytes).slice(7, 9), sha256(bytes).slice(7));
      t.is((await fs.stat(blob)).nlink, 13);
    }
    for (const version of versions) t.true((await registry.get(`/firmware/ci/${version}`)).body.equals(bytes), version);
    t.deepEqual(await storeContents(env, registry.dataDir), { blobs: [sha256(bytes)], temp: [] });
  });
}

for (const store of STORES) {
  storeTest(store)(titled(store, 'an endless chunked firmware part is cut off with 413 while it is still being sent'), async (t) => {
    const env = await storeEnv(store, { MAX_UPLOAD_BYTES: '64K' });
    const registry = await startRegistry(t, env);
    await registry.publish({ name: 'existing', version: '1.0.0' }, firmwareBytes(1000));
    const before = await snapshot(registry, env);
    const head = Buffer.from(
      '--b\r\nContent-Disposition: form-data; name="metadata"\r\n\r\n{"name":"base","version":"1.0.0"}\r\n' +
        '--b\r\nContent-Disposition: form-data; name="firmware"; filename="fw.bin"\r\n\r\n',
    );
    const answer = await endlessUpload(registry, head);
    t.is(answer.status, 413);
    t.is(answer.json().error.code, 'TOO_LARGE');
    t.is(answer.headers.connection, 'close');
    await assertUnchanged(t, registry, env, before);
  });
}

for (const store of STORES) {
  storeTest(store)(titled(store, 'an endless chunked body outside any part is cut off with 413 too'), async (t) => {
    const env = await storeEnv(store, { MAX_UPLOAD_BYTES: '64K' });
    const registry = await startRegistry(t, env);
    const before = await snapshot(registry, env);
    // A preamble before the first boundary is legal multipart, and never ends here.
    const answer = await endlessUpload(registry, Buffer.from('preamble '));
    t.is(answer.status, 413);
    await assertUnchanged(t, registry, env, before);
  });
}

for (const store of STORES) {
  storeTest(store)(titled(store, 'an upload that stalls is cut off after the idle timeout, leaving nothing; others are served meanwhile'), async (t) => {
    const env = await storeEnv(store);
    const publisher = await startRegistry(t, env);
    await publisher.publish({ name: 'existing', version: '1.0.0' }, firmwareBytes(1000));
    await publisher.close();
    // Short enough to wait for, long enough that the request served meanwhile is never cut off
    // by a busy machine.
    const registry = await startRegistry(t, { ...env, IDLE_TIMEOUT_SECONDS: '2' }, publisher.home);
    const before = await snapshot(registry, env);
    const body = multipart([
      { name: 'metadata', body: JSON.stringify({ name: 'slow', version: '1.0.0' }) },
      { name: 'firmware', filename: 'fw.bin', body: firmwareBytes(1_000_000) },
    ]);
    const { port } = new URL(registry.url);
    const socket = net.connect(Number(port), '127.0.0.1');
    const closed = new Promise((resolve) => socket.once('close', resolve));
    socket.on('error', () => {});
    socket.write(`POST /firmware HTTP/1.1\r\nHost: x\r\nContent-Type: ${body.contentType}\r\nContent-Length: ${body.body.length}\r\n\r\n`);
    socket.write(body.body.subarray(0, 400_000));
    t.is((await registry.get('/firmware/existing/1.0.0')).status, 200, 'served while the slow upload waits');
    await closed;
    t.pass('the server closed the stalled connection');
    await assertUnchanged(t, registry, env, before);
  });
}

/** Sends `head`, then random bytes for ever, until an answer comes (or 10 s pass). */
function endlessUpload(registry: TestRegistry, head: Buffer): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${registry.url}/firmware`, {
      method: 'POST',
      headers: { 'Content-Type': 'multipart/form-data; boundary=b', 'Transfer-Encoding': 'chunked' },
      agent: false,
    });
    const deadline = setTimeout(() => {
      req.destroy();
      reject(new Error('no answer while sending an endless body'));
    }, 10_000);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        clearTimeout(deadline);
        req.destroy();
        const body = Buffer.concat(chunks);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json: () => JSON.parse(body.toString()) });
      });
    });
    req.on('error', () => {});
    req.write(head);
    const chunk = firmwareBytes(16 * 1024);
    const pump = () => {
      while (!req.destroyed && req.write(chunk));
      if (!req.destroyed) req.once('drain', pump);
    };
    pump();
  });
}
