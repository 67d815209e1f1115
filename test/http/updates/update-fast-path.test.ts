import http from 'node:http';
import test, { type ExecutionContext } from 'ava';
import { firmwareBytes } from '../../helpers/fixtures.js';
import { request, type RawResponse } from '../../helpers/http.js';
import { scrapeMetrics } from '../../helpers/metrics.js';
import { startRegistry, type TestRegistry } from '../../helpers/registry-server.js';
import { waitFor } from '../../helpers/wait-for.js';

const CHECK = '/updates/base?current=1.0.0&label=channel=stable';

async function catalogue(t: ExecutionContext, env: Record<string, string> = {}): Promise<TestRegistry> {
  const registry = await startRegistry(t, env);
  for (const version of ['1.0.0', '1.1.0', '1.2.0']) {
    t.is((await registry.publish({ name: 'base', version, labels: { channel: 'stable' } }, firmwareBytes(200))).status, 201);
  }
  return registry;
}

/** A device: one kept-alive connection for all its requests; says which connection answered. */
function device(t: ExecutionContext, registry: TestRegistry) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  t.teardown(() => agent.destroy());
  return (path: string, headers: Record<string, string> = {}): Promise<RawResponse & { port: number }> =>
    new Promise((resolve, reject) => {
      http
        .get(`${registry.url}${path}`, { agent, headers }, (res) => {
          const chunks: Buffer[] = [];
          const port = res.socket.localPort ?? 0;
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => {
            const body = Buffer.concat(chunks);
            resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json: () => JSON.parse(body.toString()), port });
          });
        })
        .on('error', reject);
    });
}

/** An answer as sent, but for what differs between any two answers (the date, the request id). */
function sent(answer: RawResponse): unknown {
  const { date: _date, 'x-request-id': _id, ...headers } = answer.headers;
  return { status: answer.status, headers, body: answer.body.toString() };
}

function change(registry: TestRegistry, method: 'PATCH' | 'DELETE', path: string, labels?: Record<string, string>): Promise<RawResponse> {
  return request(`${registry.url}${path}`, labels ? { method, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ labels }) } : { method });
}

test('updates fast path: a repeated check gets the same answer, byte for byte, with its own request id', async (t) => {
  const registry = await catalogue(t);
  const get = device(t, registry);
  for (const path of [CHECK, '/updates/base?current=1.2.0']) {
    const first = await get(path);
    t.is(registry.activity().updateAnswers > 0, true, 'remembered for the fast path');
    const again = await get(path);
    t.deepEqual(sent(again), sent(first));
    t.not(again.headers['x-request-id'], first.headers['x-request-id']);
    t.is((await get(path, { 'X-Request-Id': 'device-7' })).headers['x-request-id'], 'device-7');
  }
  const head = await request(`${registry.url}${CHECK}`, { method: 'HEAD' });
  t.is(head.status, 200);
  t.is(head.body.length, 0);
  t.is(head.headers['content-length'], String((await get(CHECK)).body.length));
});

test('updates fast path: a publish, relabel or delete changes the next answer at once, on the same connection', async (t) => {
  const registry = await catalogue(t);
  const get = device(t, registry);
  const version = async () => {
    const answer = await get(CHECK);
    return answer.status === 200 ? answer.json().version : answer.status;
  };
  t.is(await version(), '1.2.0');
  t.is(await version(), '1.2.0');
  const { port } = await get(CHECK);

  await registry.publish({ name: 'base', version: '1.3.0', labels: { channel: 'stable' } }, firmwareBytes(300));
  t.is(await version(), '1.3.0');
  t.is(await version(), '1.3.0');
  t.is((await change(registry, 'PATCH', '/firmware/base/1.3.0', { channel: 'beta' })).status, 200);
  t.is(await version(), '1.2.0');
  t.is(await version(), '1.2.0');
  t.is((await change(registry, 'DELETE', '/firmware/base/1.2.0')).status, 204);
  t.is(await version(), '1.1.0');
  t.is((await change(registry, 'DELETE', '/firmware/base/1.1.0')).status, 204);
  t.is(await version(), 204);
  t.is(await version(), 204);
  t.is((await get(CHECK)).port, port, 'one connection throughout');
});

test('updates fast path: the ETag changes exactly when the answer does; the previous one gets 304 until then', async (t) => {
  const registry = await catalogue(t);
  const get = device(t, registry);
  const first = await get(CHECK);
  const etag = String(first.headers.etag);
  t.is((await get(CHECK, { 'If-None-Match': etag })).status, 304);
  const notModified = await get(CHECK, { 'If-None-Match': `"other", W/${etag}` });
  t.is(notModified.status, 304, 'weak comparison, any member of the list (RFC 9110 §13.1.2)');
  t.is(notModified.headers.etag, etag);
  t.is(notModified.body.length, 0);
  t.is((await get(CHECK, { 'If-None-Match': '"other"' })).status, 200);

  // A relabel of a version that is not the answer leaves the answer, and its ETag, as they were.
  t.is((await change(registry, 'PATCH', '/firmware/base/1.1.0', { channel: 'stable', hw: 'esp32' })).status, 200);
  t.is((await get(CHECK, { 'If-None-Match': etag })).status, 304);
  t.is((await get(CHECK)).headers.etag, etag);

  // A relabel of the answer's version changes the answer (its labels are in it), so its ETag.
  t.is((await change(registry, 'PATCH', '/firmware/base/1.2.0', { channel: 'stable', hw: 'esp32' })).status, 200);
  const relabelled = await get(CHECK, { 'If-None-Match': etag });
  t.is(relabelled.status, 200);
  t.deepEqual(relabelled.json().labels, { channel: 'stable', hw: 'esp32' });
  t.not(relabelled.headers.etag, etag);
  t.is((await get(CHECK, { 'If-None-Match': String(relabelled.headers.etag) })).status, 304);
});

test('updates fast path: its requests have log lines and metrics like any other', async (t) => {
  const registry = await catalogue(t);
  const get = device(t, registry);
  const first = await get(CHECK);
  const etag = String(first.headers.etag);
  const again = await get(CHECK, { 'X-Request-Id': 'again' });
  t.true(again.body.equals(first.body));
  for (let i = 0; i < 3; i++) await get(CHECK, { 'X-Request-Id': `poll-${i}`, 'If-None-Match': etag });
  await get('/updates/base?current=1.2.0', { 'X-Request-Id': 'current' });
  await get('/updates/base?current=1.2.0', { 'X-Request-Id': 'current' });
  await waitFor(() => registry.logs.filter((line) => line.req_id === 'current').length === 2);
  await waitFor(() => registry.logs.filter((line) => String(line.req_id).startsWith('poll-')).length === 3);
  for (const line of registry.logs.filter((entry) => String(entry.req_id).startsWith('poll-'))) {
    t.like(line, { method: 'GET', route: '/updates/:name', path: '/updates/base', status: 304, bytes: 0, msg: 'request' });
  }
  t.like(registry.logs.find((line) => line.req_id === 'current'), { route: '/updates/:name', status: 204 });
  await waitFor(() => registry.logs.some((line) => line.req_id === 'again'));
  t.like(registry.logs.find((line) => line.req_id === 'again'), { status: 200, bytes: first.body.length }, 'a remembered 200 counts its body');
  const metric = await scrapeMetrics(registry);
  t.is(metric('spore_http_requests_total{method="GET",route="/updates/:name",status="304"}'), 3);
  t.is(metric('spore_http_requests_total{method="GET",route="/updates/:name",status="204"}'), 2);
  t.is(metric('spore_http_request_duration_seconds_count{method="GET",route="/updates/:name"}'), 7);
});

test('updates fast path: errors stay koa’s, and are never remembered', async (t) => {
  const registry = await catalogue(t);
  for (let i = 0; i < 2; i++) {
    t.is((await registry.get('/updates/base?current=v1')).json().error.code, 'VERSION_INVALID');
    t.is((await registry.get('/updates/nothing?current=1.0.0')).status, 404);
    t.is((await registry.get(`${CHECK}&lable=x`)).json().error.code, 'QUERY_INVALID');
  }
  t.is(registry.activity().updateAnswers, 0);
  // A name published after its 404 is found at once.
  await registry.publish({ name: 'nothing', version: '1.0.1' }, firmwareBytes(10));
  t.is((await registry.get('/updates/nothing?current=1.0.0')).json().version, '1.0.1');
});

test('updates fast path: with CORS, a request with an Origin gets the CORS headers for its origin', async (t) => {
  const registry = await catalogue(t, { CORS_ORIGINS: 'https://a.example' });
  const plain = await registry.get(CHECK);
  t.is(plain.headers.vary, 'Origin');
  t.is((await registry.get(CHECK)).headers.vary, 'Origin');
  t.deepEqual(sent(await registry.get(CHECK)), sent(plain));
  t.is(registry.activity().updateAnswers, 1);
  const browser = await registry.get(CHECK, { Origin: 'https://a.example' });
  t.is(browser.headers['access-control-allow-origin'], 'https://a.example');
  t.is(browser.body.toString(), plain.body.toString());
  t.is((await registry.get(CHECK, { Origin: 'https://b.example' })).headers['access-control-allow-origin'], undefined);
  t.is((await registry.get(CHECK)).headers['access-control-allow-origin'], undefined, 'an origin’s answer is not kept for others');
});
