import fs from 'node:fs/promises';
import path from 'node:path';
import test from 'ava';
import { firmwareBytes, sha256 } from '../helpers/fixtures.js';
import { request } from '../helpers/http.js';
import { startRegistry } from '../helpers/registry-server.js';

test('download: GET carries exact length, type, filename, strong ETag, dates and digests', async (t) => {
  const registry = await startRegistry(t);
  const bytes = firmwareBytes(123_457);
  const { created_at } = (await registry.publish({ name: 'base', version: '1.2.3-rc.1' }, bytes)).json();
  const answer = await registry.get('/firmware/base/1.2.3-rc.1');
  t.is(answer.status, 200);
  t.true(answer.body.equals(bytes));
  const digestField = `sha-256=:${Buffer.from(sha256(bytes).slice(7), 'hex').toString('base64')}:`;
  t.like(answer.headers, {
    'content-length': String(bytes.length),
    'content-type': 'application/octet-stream',
    'content-disposition': 'attachment; filename="base-1.2.3-rc.1.bin"',
    etag: `"${sha256(bytes)}"`,
    'last-modified': new Date(created_at).toUTCString(),
    'cache-control': 'no-cache',
    'repr-digest': digestField,
    'content-digest': digestField,
  });
  t.is(answer.headers['transfer-encoding'], undefined);
  t.is(answer.headers['content-encoding'], undefined);
});

test('download: HEAD has the headers of GET and no body', async (t) => {
  const registry = await startRegistry(t);
  const bytes = firmwareBytes(5000);
  await registry.publish({ name: 'base', version: '1.0.0' }, bytes);
  const get = await registry.get('/firmware/base/1.0.0');
  const head = await request(`${registry.url}/firmware/base/1.0.0`, { method: 'HEAD' });
  t.is(head.status, 200);
  t.is(head.body.length, 0);
  for (const name of ['content-length', 'content-type', 'content-disposition', 'etag', 'last-modified', 'cache-control', 'repr-digest']) {
    t.is(head.headers[name], get.headers[name], name);
  }
});

test('download: the bytes come from the blob even when the version link is gone', async (t) => {
  const registry = await startRegistry(t);
  const bytes = firmwareBytes();
  await registry.publish({ name: 'base', version: '1.0.0' }, bytes);
  await fs.rm(path.join(registry.dataDir, 'base'), { recursive: true });
  t.true((await registry.get('/firmware/base/1.0.0')).body.equals(bytes));
});

test('download: an unknown version or name is 404 JSON', async (t) => {
  const registry = await startRegistry(t);
  await registry.publish({ name: 'base', version: '1.0.0' }, firmwareBytes());
  for (const url of ['/firmware/base/1.0.1', '/firmware/nothing/1.0.0']) {
    const answer = await registry.get(url);
    t.is(answer.status, 404, url);
    t.is(answer.json().error.code, 'NOT_FOUND');
    t.is(answer.headers.etag, undefined, 'no download headers on an error');
  }
});

test('download: names and versions that cannot exist are 400, also when percent-encoded', async (t) => {
  const registry = await startRegistry(t);
  const cases: [string, string][] = [
    ['/firmware/..%2F..%2Fetc/1.0.0', 'NAME_INVALID'],
    ['/firmware/%2e%2e/1.0.0', 'NAME_INVALID'],
    ['/firmware/base%00/1.0.0', 'NAME_INVALID'],
    ['/firmware/base/..%2F..%2F..%2Fetc%2Fpasswd', 'VERSION_INVALID'],
    ['/firmware/base/v1.0.0', 'VERSION_INVALID'],
    ['/firmware/base/%2e%2e', 'VERSION_INVALID'],
  ];
  for (const [url, code] of cases) {
    const answer = await registry.get(url);
    t.is(answer.status, 400, url);
    t.is(answer.json().error.code, code, url);
  }
});

test('download: other methods are 405 JSON with Allow', async (t) => {
  const registry = await startRegistry(t);
  await registry.publish({ name: 'base', version: '1.0.0' }, firmwareBytes());
  for (const method of ['PUT', 'POST', 'PROPFIND']) {
    const answer = await request(`${registry.url}/firmware/base/1.0.0`, { method });
    t.is(answer.status, 405, method);
    t.is(answer.json().error.code, 'METHOD_NOT_ALLOWED');
    t.is(answer.headers.allow, 'PATCH, DELETE, HEAD, GET');
  }
});

test('routes: an unknown path is 404 JSON', async (t) => {
  const registry = await startRegistry(t);
  const answer = await registry.get('/nothing/here');
  t.is(answer.status, 404);
  t.is(answer.json().error.code, 'NOT_FOUND');
});

test('list: [] when nothing is published, and when nothing matches', async (t) => {
  const registry = await startRegistry(t);
  t.deepEqual((await registry.get('/firmware')).json(), []);
  await registry.publish({ name: 'base', version: '1.0.0' }, firmwareBytes());
  t.deepEqual((await registry.get('/firmware?name=other')).json(), []);
  t.deepEqual((await registry.get('/firmware?version=9.9.9')).json(), []);
  t.deepEqual((await registry.get('/firmware?name=../x')).json(), []);
});

test('list: sorted by name, then SemVer precedence highest first; filters combine', async (t) => {
  const registry = await startRegistry(t);
  const published = [
    ['sensor', '1.0.0'],
    ['base', '1.10.0'],
    ['base', '2.0.0-beta.1'],
    ['base', '1.2.0'],
    ['base', '2.0.0'],
    ['base', '2.0.0-rc.1'],
    ['sensor', '1.2.0'],
  ];
  for (const [name, version] of published) {
    t.is((await registry.publish({ name, version, labels: { app: name } }, firmwareBytes(64))).status, 201);
  }
  const order = (await registry.get('/firmware')).json().map((row: { name: string; version: string }) => `${row.name}@${row.version}`);
  t.deepEqual(order, ['base@2.0.0', 'base@2.0.0-rc.1', 'base@2.0.0-beta.1', 'base@1.10.0', 'base@1.2.0', 'sensor@1.2.0', 'sensor@1.0.0']);
  const byName = (await registry.get('/firmware?name=sensor')).json();
  t.deepEqual(byName.map((row: { version: string }) => row.version), ['1.2.0', '1.0.0']);
  const byVersion = (await registry.get('/firmware?version=1.2.0')).json();
  t.deepEqual(byVersion.map((row: { name: string }) => row.name), ['base', 'sensor']);
  const both = (await registry.get('/firmware?name=base&version=1.2.0')).json();
  t.is(both.length, 1);
  t.deepEqual(Object.keys(both[0]).sort(), ['created_at', 'labels', 'name', 'sha256', 'size', 'version']);
});

test('list: a filter given twice is 400 QUERY_INVALID', async (t) => {
  const registry = await startRegistry(t);
  const answer = await registry.get('/firmware?name=a&name=b');
  t.is(answer.status, 400);
  t.is(answer.json().error.code, 'QUERY_INVALID');
});

test('health: 200 ok with the number of versions', async (t) => {
  const registry = await startRegistry(t);
  await registry.publish({ name: 'base', version: '1.0.0' }, firmwareBytes());
  const answer = await registry.get('/health');
  t.is(answer.status, 200);
  t.deepEqual(answer.json(), { status: 'ok', versions: 1 });
});

test('health: 503 when the data folder cannot take uploads', async (t) => {
  const registry = await startRegistry(t);
  await fs.rm(path.join(registry.dataDir, '.tmp'), { recursive: true });
  const answer = await registry.get('/health');
  t.is(answer.status, 503);
  t.is(answer.json().error.code, 'UNAVAILABLE');
  t.notRegex(answer.body.toString(), new RegExp(registry.home.replaceAll('/', '\\/')), 'no internal paths');
});
