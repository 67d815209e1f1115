import fs from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { firmwareBytes, sha256 } from '../helpers/fixtures.js';
import { request, type RawResponse } from '../helpers/http.js';
import { scrapeMetrics } from '../helpers/metrics.js';
import { firmwareUpload, multipart, type Multipart } from '../helpers/multipart.js';
import { startRegistry } from '../helpers/registry-server.js';
import { listTree } from '../helpers/temp-dir.js';
import { waitFor } from '../helpers/wait-for.js';

const GOOD = { name: 'base', version: '1.0.0' };

/**
 * A registry that already holds one version, and a check that a refused request changed
 * nothing: the same files (no temp file, no blob, no version folder) and the same index bytes.
 */
async function registryWithOneVersion(t: ExecutionContext, env: Record<string, string> = {}) {
  const registry = await startRegistry(t, env);
  t.is((await registry.publish({ name: 'existing', version: '0.1.0' }, firmwareBytes(512))).status, 201);
  const files = await listTree(registry.home);
  const index = await fs.readFile(registry.dbFile);
  return {
    registry,
    async assertUnchanged() {
      t.deepEqual(await listTree(registry.home), files, 'no file added or removed');
      t.true(index.equals(await fs.readFile(registry.dbFile)), 'index file unchanged');
      t.is((await registry.get('/firmware')).json().length, 1, 'still one version listed');
    },
  };
}

function assertError(t: ExecutionContext, answer: RawResponse, status: number, code: string): void {
  t.is(answer.status, status, answer.body.toString());
  t.regex(String(answer.headers['content-type']), /^application\/json/);
  const body = answer.json();
  t.is(body.success, false);
  t.is(body.error.code, code);
  t.true(typeof body.error.message === 'string' && body.error.message.length > 10);
}

const rejects = (title: string, status: number, code: string, upload: () => Multipart) =>
  test(`publish refuses ${title} with ${status} ${code} and leaves nothing behind`, async (t) => {
    const { registry, assertUnchanged } = await registryWithOneVersion(t);
    assertError(t, await registry.post(upload()), status, code);
    await assertUnchanged();
  });

rejects('a missing metadata part', 400, 'METADATA_INVALID', () =>
  multipart([{ name: 'firmware', filename: 'fw.bin', body: firmwareBytes() }]),
);
rejects('a missing firmware part', 400, 'FIRMWARE_MISSING', () => multipart([{ name: 'metadata', body: JSON.stringify(GOOD) }]));
rejects('metadata that is not JSON', 400, 'METADATA_INVALID', () => firmwareUpload('{"name": "base", version: 1.0.0}', firmwareBytes()));
rejects('metadata that is not an object', 400, 'METADATA_INVALID', () => firmwareUpload('["base", "1.0.0"]', firmwareBytes()));
rejects('metadata with unknown fields', 400, 'METADATA_INVALID', () => firmwareUpload({ ...GOOD, nmae: 'typo' }, firmwareBytes()));
rejects('a missing name', 400, 'NAME_INVALID', () => firmwareUpload({ version: '1.0.0' }, firmwareBytes()));
rejects('"../" in the name', 400, 'NAME_INVALID', () => firmwareUpload({ ...GOOD, name: '../etc' }, firmwareBytes()));
rejects('a name with a slash', 400, 'NAME_INVALID', () => firmwareUpload({ ...GOOD, name: 'a/b' }, firmwareBytes()));
rejects('a name starting with a dot', 400, 'NAME_INVALID', () => firmwareUpload({ ...GOOD, name: '.blobs' }, firmwareBytes()));
rejects('a name of 129 characters', 400, 'NAME_INVALID', () => firmwareUpload({ ...GOOD, name: 'a'.repeat(129) }, firmwareBytes()));
rejects('"../" in the version', 400, 'VERSION_INVALID', () => firmwareUpload({ ...GOOD, version: '../../1.0.0' }, firmwareBytes()));
rejects('a "v" prefix on the version', 400, 'VERSION_INVALID', () => firmwareUpload({ ...GOOD, version: 'v1.0.0' }, firmwareBytes()));
rejects('a version that is not SemVer', 400, 'VERSION_INVALID', () => firmwareUpload({ ...GOOD, version: '1.0' }, firmwareBytes()));
rejects('a version with leading zeros', 400, 'VERSION_INVALID', () => firmwareUpload({ ...GOOD, version: '01.0.0' }, firmwareBytes()));
rejects('a numeric version', 400, 'VERSION_INVALID', () => firmwareUpload({ ...GOOD, version: 1 }, firmwareBytes()));
rejects('labels with a non-string value', 400, 'LABELS_INVALID', () => firmwareUpload({ ...GOOD, labels: { app: 1 } }, firmwareBytes()));
rejects('labels that are an array', 400, 'LABELS_INVALID', () => firmwareUpload({ ...GOOD, labels: ['app'] }, firmwareBytes()));
rejects('a label key with spaces', 400, 'LABELS_INVALID', () => firmwareUpload({ ...GOOD, labels: { 'my app': 'x' } }, firmwareBytes()));
rejects('an empty firmware file', 400, 'FIRMWARE_EMPTY', () => firmwareUpload(GOOD, Buffer.alloc(0)));
rejects('a created_at in the future', 400, 'METADATA_INVALID', () => firmwareUpload({ ...GOOD, created_at: new Date(Date.now() + 3_600_000).toISOString() }, firmwareBytes()));
rejects('a created_at without a zone', 400, 'METADATA_INVALID', () => firmwareUpload({ ...GOOD, created_at: '2024-05-01 12:00:00' }, firmwareBytes()));
rejects('a malformed declared digest', 400, 'DIGEST_INVALID', () => firmwareUpload({ ...GOOD, sha256: 'abc' }, firmwareBytes()));
rejects('bytes that do not match the declared digest', 422, 'DIGEST_MISMATCH', () =>
  firmwareUpload({ ...GOOD, sha256: sha256(firmwareBytes()) }, firmwareBytes()),
);
rejects('bytes that do not match the declared digest, file part first', 422, 'DIGEST_MISMATCH', () =>
  multipart([
    { name: 'firmware', filename: 'fw.bin', body: firmwareBytes() },
    { name: 'metadata', body: JSON.stringify({ ...GOOD, sha256: sha256(firmwareBytes()) }) },
  ]),
);
rejects('bytes that do not match the declared size', 422, 'SIZE_MISMATCH', () => firmwareUpload({ ...GOOD, size: 10 }, firmwareBytes(11)));
rejects('two firmware parts', 400, 'MULTIPART_INVALID', () =>
  multipart([
    { name: 'metadata', body: JSON.stringify(GOOD) },
    { name: 'firmware', filename: 'a.bin', body: firmwareBytes() },
    { name: 'firmware', filename: 'b.bin', body: firmwareBytes() },
  ]),
);
rejects('an unknown text part', 400, 'MULTIPART_INVALID', () =>
  multipart([
    { name: 'meta', body: JSON.stringify(GOOD) },
    { name: 'firmware', filename: 'fw.bin', body: firmwareBytes() },
  ]),
);
rejects('an unknown file part', 400, 'MULTIPART_INVALID', () =>
  multipart([
    { name: 'metadata', body: JSON.stringify(GOOD) },
    { name: 'image', filename: 'fw.bin', body: firmwareBytes() },
  ]),
);
rejects('a firmware part without a filename', 400, 'MULTIPART_INVALID', () =>
  multipart([
    { name: 'metadata', body: JSON.stringify(GOOD) },
    { name: 'firmware', body: 'not a file part' },
  ]),
);
rejects('metadata sent as a file part', 400, 'MULTIPART_INVALID', () =>
  multipart([
    { name: 'metadata', filename: 'meta.json', body: JSON.stringify(GOOD) },
    { name: 'firmware', filename: 'fw.bin', body: firmwareBytes() },
  ]),
);
rejects('metadata over 64 KiB', 413, 'TOO_LARGE', () =>
  firmwareUpload({ ...GOOD, labels: { pad: 'x'.repeat(70_000) } }, firmwareBytes()),
);
rejects('a body cut off before its closing boundary', 400, 'MULTIPART_INVALID', () => {
  const { contentType, body } = firmwareUpload(GOOD, firmwareBytes(20_000));
  return { contentType, body: body.subarray(0, body.length - 5_000) };
});

test('publish refuses a body that is not multipart with 415 and leaves nothing behind', async (t) => {
  const { registry, assertUnchanged } = await registryWithOneVersion(t);
  const answer = await request(`${registry.url}/firmware`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(GOOD),
  });
  assertError(t, answer, 415, 'UNSUPPORTED_MEDIA_TYPE');
  await assertUnchanged();
});

test('publish refuses an announced oversize body with 413 before reading it', async (t) => {
  const { registry, assertUnchanged } = await registryWithOneVersion(t, { MAX_UPLOAD_BYTES: '1024' });
  const { contentType, body } = firmwareUpload(GOOD, firmwareBytes(64));
  // Announce 10 MB, send only the first bytes: an answer proves the server did not wait for the rest.
  const answer = await new Promise<RawResponse>((resolve, reject) => {
    const req = http.request(`${registry.url}/firmware`, {
      method: 'POST',
      headers: { 'Content-Type': contentType, 'Content-Length': 10_000_000 },
      agent: false,
    });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const bytes = Buffer.concat(chunks);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: bytes, json: () => JSON.parse(bytes.toString()) });
        req.destroy();
      });
    });
    req.on('error', reject);
    req.write(body.subarray(0, 100));
  });
  assertError(t, answer, 413, 'TOO_LARGE');
  t.is(answer.headers.connection, 'close');
  await assertUnchanged();
});

test('publish refuses a chunked body whose firmware grows past the limit with 413', async (t) => {
  const { registry, assertUnchanged } = await registryWithOneVersion(t, { MAX_UPLOAD_BYTES: '1024' });
  const { contentType, body } = firmwareUpload(GOOD, firmwareBytes(5000));
  const answer = await request(`${registry.url}/firmware`, {
    method: 'POST',
    headers: { 'Content-Type': contentType },
    body: (async function* () {
      yield body;
    })(),
  });
  assertError(t, answer, 413, 'TOO_LARGE');
  await assertUnchanged();
});

test('publish accepts firmware of exactly MAX_UPLOAD_BYTES', async (t) => {
  const registry = await startRegistry(t, { MAX_UPLOAD_BYTES: '1024' });
  t.is((await registry.publish(GOOD, firmwareBytes(1024))).status, 201);
  t.is((await registry.publish({ ...GOOD, version: '1.0.1' }, firmwareBytes(1025))).status, 413);
});

test('publish: a client that disconnects mid-upload leaves no temp file and no version', async (t) => {
  const { registry, assertUnchanged } = await registryWithOneVersion(t);
  const tempDir = path.join(registry.dataDir, '.tmp');
  const { contentType, body } = firmwareUpload(GOOD, firmwareBytes(2_000_000));
  const req = http.request(`${registry.url}/firmware`, {
    method: 'POST',
    headers: { 'Content-Type': contentType, 'Content-Length': body.length },
    agent: false,
  });
  req.on('error', () => {});
  req.write(body.subarray(0, 1_000_000));
  await waitFor(async () => (await fs.readdir(tempDir)).length > 0);
  req.destroy();
  await waitFor(async () => (await fs.readdir(tempDir)).length === 0);
  await assertUnchanged();
});


test('publish: an aborted upload is logged and counted as aborted, with the client address and the route, not as 404', async (t) => {
  const { registry } = await registryWithOneVersion(t);
  const tempDir = path.join(registry.dataDir, '.tmp');
  const { contentType, body } = firmwareUpload(GOOD, firmwareBytes(2_000_000));
  const req = http.request(`${registry.url}/firmware`, {
    method: 'POST',
    headers: { 'Content-Type': contentType, 'Content-Length': body.length, 'X-Request-Id': 'gone-midway' },
    agent: false,
  });
  req.on('error', () => {});
  req.write(body.subarray(0, 1_000_000));
  await waitFor(async () => (await fs.readdir(tempDir)).length > 0);
  req.destroy();
  await waitFor(() => registry.logs.some((line) => line.req_id === 'gone-midway'));
  const line = registry.logs.find((entry) => entry.req_id === 'gone-midway');
  t.like(line, { method: 'POST', route: '/firmware', path: '/firmware', aborted: true, ip: '127.0.0.1' });
  t.is(line?.status, undefined, 'no status went out');
  t.is(line?.bytes, undefined);
  const value = await scrapeMetrics(registry);
  t.is(value('spore_http_requests_total{method="POST",route="/firmware",status="aborted"}'), 1);
  t.true(Number.isNaN(value('spore_http_requests_total{method="POST",route="/firmware",status="404"}')));
});
