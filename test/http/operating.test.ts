import fs from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import test from 'ava';
import { spawnServer } from '../helpers/child-server.js';
import { firmwareBytes, sha256 } from '../helpers/fixtures.js';
import { request } from '../helpers/http.js';
import { scrapeMetrics } from '../helpers/metrics.js';
import { firmwareUpload, multipart } from '../helpers/multipart.js';
import { startRegistry } from '../helpers/registry-server.js';
import { listTree, tempDir } from '../helpers/temp-dir.js';
import { waitFor } from '../helpers/wait-for.js';

test('tokens: every write route is 401 without a token, 403 with a wrong one, and works with a right one', async (t) => {
  const registry = await startRegistry(t, { REGISTRY_TOKENS: 'one,two' });
  const bytes = firmwareBytes(100);
  const upload = (headers: Record<string, string>) => registry.post(firmwareUpload({ name: 'base', version: '1.0.0' }, bytes), headers).then((a) => a.status);
  const patch = (headers: Record<string, string>) =>
    request(`${registry.url}/firmware/base/1.0.0`, { method: 'PATCH', headers: { 'Content-Type': 'application/json', ...headers }, body: '{"labels":{}}' }).then((a) => a.status);
  const gc = (headers: Record<string, string>) => request(`${registry.url}/gc`, { method: 'POST', headers }).then((a) => a.status);
  const remove = (headers: Record<string, string>) => request(`${registry.url}/firmware/base/1.0.0`, { method: 'DELETE', headers }).then((a) => a.status);
  for (const [route, send, ok] of [
    ['POST /firmware', upload, 201],
    ['PATCH /firmware/base/1.0.0', patch, 200],
    ['POST /gc', gc, 200],
    ['DELETE /firmware/base/1.0.0', remove, 204],
  ] as const) {
    t.is(await send({}), 401, `${route} without a token`);
    t.is(await send({ Authorization: 'Bearer three' }), 403, `${route} with a wrong token`);
    t.is(await send({ Authorization: 'Bearer two' }), ok, `${route} with a right token`);
  }
  t.is((await registry.get('/firmware')).status, 200, 'reads stay open');
  t.false(JSON.stringify(registry.logs).includes('two'), 'no token reaches the log');
});

test('tokens: REGISTRY_TOKENS_FILE is reread on SIGHUP; a file that cannot be read keeps the tokens in use', async (t) => {
  const dir = await tempDir(t);
  const tokens = path.join(dir, 'tokens');
  await fs.writeFile(tokens, '# CI runners\nalpha\n\n');
  const server = await spawnServer(t, dir, { REGISTRY_TOKENS_FILE: tokens });
  const publish = (token: string, version: string) => {
    const upload = firmwareUpload({ name: 'base', version }, firmwareBytes(100));
    return request(`${server.url}/firmware`, {
      method: 'POST',
      headers: { 'Content-Type': upload.contentType, 'Content-Length': upload.body.length, Authorization: `Bearer ${token}` },
      body: upload.body,
    }).then((answer) => answer.status);
  };
  const logged = (message: string) => waitFor(async () => server.lines.some((line) => line.includes(message)));
  t.is(await publish('alpha', '1.0.0'), 201);
  t.is(await publish('beta', '1.0.1'), 403);

  await fs.writeFile(tokens, 'beta\n');
  server.child.kill('SIGHUP');
  await logged('write tokens reloaded');
  t.is(await publish('alpha', '1.0.2'), 403, 'a removed token no longer writes');
  t.is(await publish('beta', '1.0.3'), 201);

  await fs.rm(tokens);
  server.child.kill('SIGHUP');
  await logged('write tokens not reloaded');
  t.is(await publish('beta', '1.0.4'), 201, 'the tokens in use stay');
  t.is(server.child.exitCode, null, 'SIGHUP does not stop the server');
});

test('metrics: requests by route and status, bytes, uploads, dedup and the index move with traffic', async (t) => {
  const registry = await startRegistry(t);
  const bytes = firmwareBytes(10_000);
  await registry.publish({ name: 'base', version: '1.0.0' }, bytes);
  await registry.publish({ name: 'base', version: '1.0.1' }, bytes);
  await registry.get('/firmware/base/1.0.0');
  await registry.get('/firmware/base/1.0.0', { Range: 'bytes=0-99' });
  await registry.get('/firmware/base/1.0.0', { 'If-None-Match': `"${sha256(bytes)}"` });
  await registry.get('/firmware/base/9.9.9');
  await new Promise((resolve) => setTimeout(resolve, 50));
  const value = await scrapeMetrics(registry);
  const route = 'route="/firmware/:name/:version"';
  t.is(value(`spore_http_requests_total{method="GET",${route},status="200"}`), 1);
  t.is(value(`spore_http_requests_total{method="GET",${route},status="206"}`), 1);
  t.is(value(`spore_http_requests_total{method="GET",${route},status="304"}`), 1);
  t.is(value(`spore_http_requests_total{method="GET",${route},status="404"}`), 1);
  t.is(value(`spore_http_requests_total{method="POST",route="/firmware",status="201"}`), 2);
  t.true(value(`spore_http_response_bytes_total{${route}}`) >= 10_100);
  t.is(value(`spore_http_request_duration_seconds_count{method="GET",${route}}`), 4);
  t.is(value('spore_uploads_total{result="created"}'), 2);
  t.is(value('spore_dedup_hits_total'), 1);
  t.is(value('spore_dedup_bytes_saved_total'), 10_000);
  t.is(value('spore_index_versions'), 2);
  t.is(value('spore_blob_bytes'), 10_000);
  t.true(value('spore_index_persist_seconds_count') >= 2);
  t.true(value('spore_process_resident_memory_bytes') > 0);
});

test('metrics and logs: a HEAD sends no body bytes; a by-digest probe that misses is a probe, not a rejected upload', async (t) => {
  const registry = await startRegistry(t);
  const bytes = firmwareBytes(10_000);
  // What `spore-registry push` does with new bytes: ask by digest, then send them.
  const probe = multipart([{ name: 'metadata', body: JSON.stringify({ name: 'base', version: '1.0.0', sha256: sha256(bytes) }) }]);
  t.is((await registry.post(probe)).json().error.code, 'BLOB_UNKNOWN');
  t.is((await registry.publish({ name: 'base', version: '1.0.0', sha256: sha256(bytes) }, bytes)).status, 201);
  // What `pull` does: HEAD, then GET.
  for (const url of ['/firmware/base/1.0.0', `/blobs/sha256/${sha256(bytes).slice(7)}`]) {
    t.is((await request(`${registry.url}${url}`, { method: 'HEAD', headers: { 'X-Request-Id': 'head-only' } })).status, 200);
    t.is((await registry.get(url)).body.length, 10_000);
  }
  await waitFor(() => registry.logs.filter((line) => line.req_id === 'head-only').length === 2);
  t.deepEqual(
    registry.logs.filter((line) => line.req_id === 'head-only').map((line) => line.bytes),
    [0, 0],
  );
  const value = await scrapeMetrics(registry);
  t.is(value('spore_http_response_bytes_total{route="/firmware/:name/:version"}'), 10_000);
  t.is(value('spore_http_response_bytes_total{route="/blobs/sha256/:hex"}'), 10_000);
  t.is(value('spore_uploads_total{result="probe_miss"}'), 1);
  t.is(value('spore_uploads_total{result="created"}'), 1);
  t.true(Number.isNaN(value('spore_uploads_total{result="rejected"}')), 'nothing was rejected');
});

test('logs: one line per request with route, status, bytes, duration and the request id', async (t) => {
  const registry = await startRegistry(t);
  await registry.publish({ name: 'base', version: '1.0.0' }, firmwareBytes(1234));
  const given = await registry.get('/firmware/base/1.0.0', { 'X-Request-Id': 'ci-run-42.7' });
  t.is(given.headers['x-request-id'], 'ci-run-42.7', 'a client id is echoed');
  const made = await registry.get('/firmware?name=base');
  t.regex(String(made.headers['x-request-id']), /^[0-9a-f-]{36}$/);
  const hostile = await registry.get('/health', { 'X-Request-Id': 'a b"c' });
  t.regex(String(hostile.headers['x-request-id']), /^[0-9a-f-]{36}$/, 'a malformed id is replaced');
  const failed = await registry.get('/firmware/base/9.9.9', { 'X-Request-Id': 'lost-1' });
  t.is(failed.headers['x-request-id'], 'lost-1', 'errors carry it too');
  await new Promise((resolve) => setTimeout(resolve, 50));

  const line = registry.logs.find((entry) => entry.req_id === 'ci-run-42.7');
  t.like(line, { msg: 'request', method: 'GET', route: '/firmware/:name/:version', path: '/firmware/base/1.0.0', status: 200, bytes: 1234, ip: '127.0.0.1' });
  t.is(typeof line?.ms, 'number');
  t.like(registry.logs.find((entry) => entry.req_id === made.headers['x-request-id']), { route: '/firmware', status: 200 });
  t.like(registry.logs.find((entry) => entry.req_id === 'lost-1'), { status: 404, code: 'NOT_FOUND' });
});

test('behind a proxy: X-Forwarded-For names the client only with TRUST_PROXY', async (t) => {
  const direct = await startRegistry(t);
  const proxied = await startRegistry(t, { TRUST_PROXY: 'true' });
  for (const registry of [direct, proxied]) {
    await registry.get('/health', { 'X-Forwarded-For': '198.51.100.1, 203.0.113.7', 'X-Request-Id': 'proxy-check' });
  }
  await new Promise((resolve) => setTimeout(resolve, 50));
  t.is(direct.logs.find((line) => line.req_id === 'proxy-check')?.ip, '127.0.0.1');
  t.is(proxied.logs.find((line) => line.req_id === 'proxy-check')?.ip, '203.0.113.7', 'the hop our proxy added');
});

test('hostile: a client trickling its headers is cut off, while others are served', async (t) => {
  const registry = await startRegistry(t, { HEADERS_TIMEOUT_SECONDS: '0.5' });
  const { port } = new URL(registry.url);
  const socket = net.connect(Number(port), '127.0.0.1');
  socket.on('error', () => {});
  const closed = new Promise<string>((resolve) => {
    let answer = '';
    socket.on('data', (chunk) => (answer += chunk.toString()));
    socket.once('close', () => resolve(answer));
  });
  socket.write('GET /health HTTP/1.1\r\nHost: x\r\n');
  const trickle = setInterval(() => socket.write('X-A: b\r\n'), 100);
  t.teardown(() => clearInterval(trickle));
  t.is((await registry.get('/health')).status, 200, 'served meanwhile');
  const answer = await closed;
  clearInterval(trickle);
  // Closed by the server (the test would hang otherwise), with a JSON 408.
  t.regex(answer, /^HTTP\/1\.1 408 Request Timeout\r\n/);
  t.regex(answer, /"code":"REQUEST_TIMEOUT"/);
});

test('hostile: request headers over 16 KiB are refused with 431 JSON; bytes that are not HTTP with 400 JSON', async (t) => {
  const registry = await startRegistry(t);
  const answer = await registry.get('/health', { 'X-Filler': 'x'.repeat(20 * 1024) });
  t.is(answer.status, 431);
  t.is(answer.json().error.code, 'HEADERS_TOO_LARGE');
  t.is((await registry.get('/health')).status, 200);
  const { port } = new URL(registry.url);
  const garbage = await new Promise<string>((resolve) => {
    const socket = net.connect(Number(port), '127.0.0.1', () => socket.write('HELLO THERE\r\n\r\n'));
    let text = '';
    socket.on('data', (chunk) => (text += chunk.toString()));
    socket.on('close', () => resolve(text));
    socket.on('error', () => {});
  });
  t.regex(garbage, /^HTTP\/1\.1 400 Bad Request\r\n[\s\S]*"code":"REQUEST_MALFORMED"/);
});

test('hostile: uploads past MAX_CONCURRENT_UPLOADS are 503 with Retry-After, and leave nothing', async (t) => {
  const registry = await startRegistry(t, { MAX_CONCURRENT_UPLOADS: '1' });
  const slow = firmwareUpload({ name: 'slow', version: '1.0.0' }, firmwareBytes(200_000));
  const { port } = new URL(registry.url);
  const first = http.request({ host: '127.0.0.1', port, path: '/firmware', method: 'POST', headers: { 'Content-Type': slow.contentType, 'Content-Length': slow.body.length } });
  const firstAnswer = new Promise<number>((resolve, reject) => {
    first.on('response', (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    first.on('error', reject);
  });
  first.write(slow.body.subarray(0, 1000));
  await waitFor(async () => (await fs.readdir(path.join(registry.dataDir, '.tmp'))).length > 0);
  const before = await listTree(path.join(registry.dataDir, '.blobs'));

  const second = await registry.publish({ name: 'other', version: '1.0.0' }, firmwareBytes(100));
  t.is(second.status, 503);
  t.is(second.json().error.code, 'UNAVAILABLE');
  t.is(second.headers['retry-after'], '5');
  t.deepEqual(await listTree(path.join(registry.dataDir, '.blobs')), before);
  const notMultipart = await request(`${registry.url}/firmware`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' });
  t.is(notMultipart.status, 415, 'refused on its headers, not told to retry');

  first.end(slow.body.subarray(1000));
  t.is(await firstAnswer, 201);
  t.is((await registry.publish({ name: 'other', version: '1.0.0' }, firmwareBytes(100))).status, 201, 'a slot is free again');
});

test('hostile: encoded traversal, NUL and overlong names are refused before any file is touched', async (t) => {
  const registry = await startRegistry(t);
  await registry.publish({ name: 'base', version: '1.0.0' }, firmwareBytes(100));
  const before = await listTree(registry.home);
  for (const url of ['/firmware/%2e%2e%2f%2e%2e%2fetc/1.0.0', '/firmware/base%2f..%2f..%2fregistry.db/1.0.0', '/firmware/base/1.0.0%00', `/firmware/${'a'.repeat(200)}/1.0.0`, '/firmware/%2E%2E/latest', '/updates/..%2f..%2f?current=1.0.0', '/firmware/base%00/1.0.0']) {
    for (const method of ['GET', 'HEAD', 'DELETE']) {
      const answer = await request(`${registry.url}${url}`, { method });
      // 400 from the name or version check; 405 where the route takes no such method.
      t.true(answer.status === 400 || (answer.status === 405 && url.startsWith('/updates')), `${method} ${url}: ${answer.status}`);
    }
  }
  t.deepEqual(await listTree(registry.home), before);
});

test('CORS: off by default; on for the configured origins, with what a browser needs to read a download', async (t) => {
  const closed = await startRegistry(t);
  await closed.publish({ name: 'base', version: '1.0.0' }, firmwareBytes(100));
  t.is((await closed.get('/firmware/base/1.0.0', { Origin: 'https://ui.example.com' })).headers['access-control-allow-origin'], undefined);

  const open = await startRegistry(t, { CORS_ORIGINS: 'https://ui.example.com' });
  await open.publish({ name: 'base', version: '1.0.0' }, firmwareBytes(100));
  const download = await open.get('/firmware/base/1.0.0', { Origin: 'https://ui.example.com' });
  t.is(download.status, 200);
  t.is(download.headers['access-control-allow-origin'], 'https://ui.example.com');
  t.regex(String(download.headers['access-control-expose-headers']), /ETag.*Content-Range.*Repr-Digest/);
  const preflight = await request(`${open.url}/firmware/base/1.0.0`, {
    method: 'OPTIONS',
    headers: { Origin: 'https://ui.example.com', 'Access-Control-Request-Method': 'PATCH', 'Access-Control-Request-Headers': 'authorization,content-type' },
  });
  t.is(preflight.status, 204);
  t.regex(String(preflight.headers['access-control-allow-methods']), /PATCH/);
  t.is((await open.get('/firmware/base/1.0.0', { Origin: 'https://evil.example.com' })).headers['access-control-allow-origin'], undefined);
  const error = await open.get('/firmware/base/9.9.9', { Origin: 'https://ui.example.com' });
  t.is(error.headers['access-control-allow-origin'], 'https://ui.example.com', 'errors are readable too');
});

test('CORS: every download answer says Vary: Origin, with or without an Origin, 200, 206, 304 and errors', async (t) => {
  const registry = await startRegistry(t, { CORS_ORIGINS: 'https://ui.example.com' });
  const bytes = firmwareBytes(1000);
  await registry.publish({ name: 'base', version: '1.0.0' }, bytes);
  const etag = `"${sha256(bytes)}"`;
  for (const url of ['/firmware/base/1.0.0', `/blobs/sha256/${sha256(bytes).slice(7)}`]) {
    for (const origin of [{}, { Origin: 'https://ui.example.com' }, { Origin: 'https://evil.example.com' }] as Record<string, string>[]) {
      for (const [headers, method, status] of [
        [{}, 'GET', 200],
        [{}, 'HEAD', 200],
        [{ Range: 'bytes=0-9' }, 'GET', 206],
        [{ 'If-None-Match': etag }, 'GET', 304],
        [{ Range: 'bytes=5000-' }, 'GET', 416],
      ] as [Record<string, string>, string, number][]) {
        const answer = await request(`${registry.url}${url}`, { method, headers: { ...origin, ...headers } });
        const what = `${method} ${url} ${JSON.stringify({ ...origin, ...headers })}`;
        t.is(answer.status, status, what);
        t.regex(String(answer.headers.vary), /\bOrigin\b/, what);
      }
    }
  }
  t.is((await registry.get('/firmware/base/1.0.0')).headers.vary, 'Origin', 'once, not repeated');
});
