import fs from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import type { ExecutionContext } from 'ava';
import { ceph, rawClient } from '../helpers/ceph.js';
import { firmwareBytes, sha256 } from '../helpers/fixtures.js';
import { request, type RawResponse } from '../helpers/http.js';
import { startRegistry, type TestRegistry } from '../helpers/registry-server.js';
import { putUnpublished, STORES, storeEnv, storeTest, titled } from '../helpers/stores.js';
import { waitFor } from '../helpers/wait-for.js';

const SIZE = 10_000;

interface Published {
  registry: TestRegistry;
  bytes: Buffer;
  etag: string;
  lastModified: string;
}

async function publishOne(t: ExecutionContext, env: Record<string, string> = {}): Promise<Published> {
  const registry = await startRegistry(t, env);
  const bytes = firmwareBytes(SIZE);
  t.is((await registry.publish({ name: 'base', version: '1.0.0' }, bytes)).status, 201);
  const head = await request(`${registry.url}/firmware/base/1.0.0`, { method: 'HEAD' });
  return { registry, bytes, etag: String(head.headers.etag), lastModified: String(head.headers['last-modified']) };
}

/** Every row of SPEC §4 is checked on both URLs of the same bytes. */
const URLS = {
  version: (_bytes: Buffer) => '/firmware/base/1.0.0',
  digest: (bytes: Buffer) => `/blobs/sha256/${sha256(bytes).slice(7)}`,
};

/** On both URLs, and on both stores: the answers must be byte for byte the same. */
function both(title: string, check: (t: ExecutionContext, get: (headers?: Record<string, string>, method?: string) => Promise<RawResponse>, p: Published, kind: keyof typeof URLS) => Promise<void>) {
  for (const store of STORES) {
    for (const kind of Object.keys(URLS) as (keyof typeof URLS)[]) {
      storeTest(store)(titled(store, `download (${kind} URL): ${title}`), async (t) => {
        const published = await publishOne(t, await storeEnv(store));
        const url = `${published.registry.url}${URLS[kind](published.bytes)}`;
        await check(t, (headers = {}, method = 'GET') => request(url, { method, headers }), published, kind);
      });
    }
  }
}

function assertValidators(t: ExecutionContext, answer: RawResponse, p: Published, kind: keyof typeof URLS): void {
  t.is(answer.headers.etag, `"${sha256(p.bytes)}"`);
  t.is(answer.headers['last-modified'], p.lastModified);
  t.is(answer.headers['cache-control'], kind === 'version' ? 'no-cache' : 'public, max-age=31536000, immutable');
  t.is(answer.headers['accept-ranges'], 'bytes');
  t.is(answer.headers['repr-digest'], `sha-256=:${Buffer.from(sha256(p.bytes).slice(7), 'hex').toString('base64')}:`);
}

function assertError(t: ExecutionContext, answer: RawResponse, status: number, code: string): void {
  t.is(answer.status, status);
  t.is(answer.json().error.code, code);
}

both('GET is 200 with the whole body, every header, never compressed or chunked', async (t, get, p, kind) => {
  const answer = await get({ 'Accept-Encoding': 'gzip, br' });
  t.is(answer.status, 200);
  t.true(answer.body.equals(p.bytes));
  assertValidators(t, answer, p, kind);
  t.is(answer.headers['content-length'], String(SIZE));
  t.is(answer.headers['content-type'], 'application/octet-stream');
  t.is(answer.headers['content-digest'], answer.headers['repr-digest']);
  t.is(answer.headers['content-disposition'], kind === 'version' ? 'attachment; filename="base-1.0.0.bin"' : undefined);
  t.is(answer.headers['content-encoding'], undefined);
  t.is(answer.headers['transfer-encoding'], undefined);
});

both('HEAD has the headers of GET, no body, and ignores Range', async (t, get, p, kind) => {
  const full = await get();
  for (const headers of [{}, { Range: 'bytes=0-0' }] as Record<string, string>[]) {
    const head = await get(headers, 'HEAD');
    t.is(head.status, 200);
    t.is(head.body.length, 0);
    for (const name of ['etag', 'last-modified', 'cache-control', 'accept-ranges', 'repr-digest', 'content-digest', 'content-length', 'content-type']) {
      t.is(head.headers[name], full.headers[name], name);
    }
    t.is(head.headers['content-range'], undefined);
  }
  assertValidators(t, full, p, kind);
});

both('If-None-Match that matches (weakly, in lists, *) is 304 with validators and no body', async (t, get, p, kind) => {
  for (const value of [p.etag, `W/${p.etag}`, `"nope", ${p.etag}`, '*']) {
    const answer = await get({ 'If-None-Match': value });
    t.is(answer.status, 304, value);
    t.is(answer.body.length, 0);
    assertValidators(t, answer, p, kind);
  }
  t.is((await get({ 'If-None-Match': '"nope"' })).status, 200);
});

both('If-None-Match present makes If-Modified-Since ignored', async (t, get, p) => {
  t.is((await get({ 'If-None-Match': '"nope"', 'If-Modified-Since': p.lastModified })).status, 200);
});

both('If-Modified-Since at or after Last-Modified is 304; before, or not a date, is 200', async (t, get, p) => {
  const before = new Date(Date.parse(p.lastModified) - 1000).toUTCString();
  const after = new Date(Date.parse(p.lastModified) + 1000).toUTCString();
  t.is((await get({ 'If-Modified-Since': p.lastModified })).status, 304);
  t.is((await get({ 'If-Modified-Since': after })).status, 304);
  t.is((await get({ 'If-Modified-Since': before })).status, 200);
  t.is((await get({ 'If-Modified-Since': 'yesterday' })).status, 200);
});

both('If-Match that does not match strongly, or If-Unmodified-Since before, is 412 JSON', async (t, get, p) => {
  assertError(t, await get({ 'If-Match': '"nope"' }), 412, 'PRECONDITION_FAILED');
  assertError(t, await get({ 'If-Match': `W/${p.etag}` }), 412, 'PRECONDITION_FAILED');
  assertError(t, await get({ 'If-Unmodified-Since': new Date(Date.parse(p.lastModified) - 1000).toUTCString() }), 412, 'PRECONDITION_FAILED');
  t.is((await get({ 'If-Match': p.etag })).status, 200);
  t.is((await get({ 'If-Unmodified-Since': p.lastModified })).status, 200);
});

both('single ranges are 206 with exact Content-Range, length and bytes; the end is clamped', async (t, get, p, kind) => {
  const cases: [string, number, number][] = [
    ['bytes=0-0', 0, 0],
    ['bytes=500-1499', 500, 1499],
    ['bytes=500-', 500, 9999],
    ['bytes=-500', 9500, 9999],
    ['bytes=9000-10000', 9000, 9999],
    ['BYTES=1-2', 1, 2],
  ];
  for (const [range, start, end] of cases) {
    const answer = await get({ Range: range });
    t.is(answer.status, 206, range);
    t.is(answer.headers['content-range'], `bytes ${start}-${end}/${SIZE}`, range);
    t.is(answer.headers['content-length'], String(end - start + 1));
    t.true(answer.body.equals(p.bytes.subarray(start, end + 1)), range);
    t.is(answer.headers['content-digest'], undefined);
    assertValidators(t, answer, p, kind);
  }
});

both('unsatisfiable ranges are 416 with Content-Range bytes */size', async (t, get) => {
  for (const range of ['bytes=10000-', 'bytes=10000-20000', 'bytes=-0', 'bytes=500-100']) {
    const answer = await get({ Range: range });
    assertError(t, answer, 416, 'RANGE_NOT_SATISFIABLE');
    t.is(answer.headers['content-range'], `bytes */${SIZE}`, range);
  }
});

both('several ranges are multipart/byteranges, byte for byte, with an exact length', async (t, get, p) => {
  const answer = await get({ Range: 'bytes=-10, 0-99,5000-5009,20000-30000' });
  t.is(answer.status, 206);
  const type = String(answer.headers['content-type']);
  const boundary = /^multipart\/byteranges; boundary=([0-9a-z]+)$/.exec(type)?.[1];
  t.truthy(boundary, `an unquoted lower-case boundary: ${type}`);
  t.is(answer.headers['content-length'], String(answer.body.length));
  const parts = parseByteRanges(answer.body, boundary ?? '');
  t.deepEqual(
    parts.map((part) => part.contentRange),
    [`bytes 9990-9999/${SIZE}`, `bytes 0-99/${SIZE}`, `bytes 5000-5009/${SIZE}`],
  );
  for (const part of parts) {
    t.is(part.contentType, 'application/octet-stream');
    t.true(part.bytes.equals(p.bytes.subarray(part.start, part.end + 1)), part.contentRange);
  }
});

both('several ranges of which one is satisfiable (or all merge into one) are a plain 206 (RFC 9110 §14.6)', async (t, get, p) => {
  for (const [range, start, end] of [
    ['bytes=0-1,20000-', 0, 1],
    ['bytes=0-0,0-0', 0, 0],
    ['bytes=300-399,0-99,50-350', 0, 399],
  ] as const) {
    const answer = await get({ Range: range });
    t.is(answer.status, 206, range);
    t.is(answer.headers['content-type'], 'application/octet-stream', range);
    t.is(answer.headers['content-range'], `bytes ${start}-${end}/${SIZE}`, range);
    t.is(answer.headers['content-length'], String(end - start + 1), range);
    t.true(answer.body.equals(p.bytes.subarray(start, end + 1)), range);
  }
});

both('150 ranges in one request (SWUpdate) come back as 150 parts', async (t, get, p) => {
  const specs = Array.from({ length: 150 }, (_, i) => `${i * 60}-${i * 60 + 9}`);
  const answer = await get({ Range: `bytes=${specs.join(',')}` });
  t.is(answer.status, 206);
  const boundary = String(answer.headers['content-type']).split('boundary=')[1] ?? '';
  const parts = parseByteRanges(answer.body, boundary);
  t.is(parts.length, 150);
  t.true(parts.every((part) => part.bytes.equals(p.bytes.subarray(part.start, part.end + 1))));
});

both('more than 200 ranges, a malformed Range, or another unit give the whole body', async (t, get, p) => {
  const many = `bytes=${Array.from({ length: 201 }, (_, i) => `${i * 10}-${i * 10 + 1}`).join(',')}`;
  for (const range of [many, 'bytes=abc', 'bytes=', 'items=0-5', 'bytes=1-2-3']) {
    const answer = await get({ Range: range });
    t.is(answer.status, 200, range.slice(0, 20));
    t.true(answer.body.equals(p.bytes));
  }
});

both('If-Range equal to the ETag or exactly Last-Modified honours the Range; anything else gives 200', async (t, get, p) => {
  t.is((await get({ Range: 'bytes=0-0', 'If-Range': p.etag })).status, 206);
  t.is((await get({ Range: 'bytes=0-0', 'If-Range': p.lastModified })).status, 206);
  t.is((await get({ Range: 'bytes=0-0', 'If-Range': `W/${p.etag}` })).status, 200);
  t.is((await get({ Range: 'bytes=0-0', 'If-Range': '"older"' })).status, 200);
  t.is((await get({ Range: 'bytes=0-0', 'If-Range': new Date(Date.parse(p.lastModified) + 1000).toUTCString() })).status, 200);
});

both('If-None-Match that matches, together with Range, is 304', async (t, get, p) => {
  const answer = await get({ 'If-None-Match': p.etag, Range: 'bytes=0-0' });
  t.is(answer.status, 304);
  t.is(answer.body.length, 0);
});

both('answered again from memory (a 304, a small range of held bytes, errors): the same answer, with its own log line', async (t, get, p) => {
  const route = (await get({ 'X-Request-Id': 'first' }), p.registry.logs.find((line) => line.req_id === 'first')?.route);
  const tail = { Range: `bytes=${SIZE - 4096}-${SIZE - 1}` };
  const first = await get(tail);
  const again = await get({ ...tail, 'X-Request-Id': 'held-range' });
  t.is(again.status, 206);
  t.true(again.body.equals(p.bytes.subarray(SIZE - 4096)));
  const { date: _date, 'x-request-id': _id, ...fields } = again.headers;
  const { date: _firstDate, 'x-request-id': _firstId, ...firstFields } = first.headers;
  t.deepEqual(fields, firstFields);
  t.is((await get({ 'If-None-Match': p.etag, 'X-Request-Id': 'held-304' })).status, 304);
  t.is((await get({ 'X-Request-Id': 'held-head' }, 'HEAD')).status, 200);
  assertError(t, await get({ 'If-Match': '"other"', 'X-Request-Id': 'held-412' }), 412, 'PRECONDITION_FAILED');
  const unsatisfiable = await get({ Range: `bytes=${SIZE}-`, 'X-Request-Id': 'held-416' });
  assertError(t, unsatisfiable, 416, 'RANGE_NOT_SATISFIABLE');
  t.is(unsatisfiable.headers['content-range'], `bytes */${SIZE}`);
  const ids = ['held-range', 'held-304', 'held-head', 'held-412', 'held-416'];
  await waitFor(() => ids.every((id) => p.registry.logs.some((line) => line.req_id === id)));
  const line = (id: string) => p.registry.logs.find((entry) => entry.req_id === id);
  t.like(line('held-range'), { route, method: 'GET', status: 206, bytes: 4096, msg: 'request' });
  t.like(line('held-304'), { route, status: 304, bytes: 0 });
  t.like(line('held-head'), { route, method: 'HEAD', status: 200, bytes: 0 });
  t.like(line('held-412'), { route, status: 412, code: 'PRECONDITION_FAILED' });
  t.like(line('held-416'), { route, status: 416, code: 'RANGE_NOT_SATISFIABLE' });
});

for (const store of STORES) {
  storeTest(store)(titled(store, 'download: unknown names, versions and digests are 404; a malformed digest is 400; other methods 405'), async (t) => {
    const { registry, bytes } = await publishOne(t, await storeEnv(store));
    assertError(t, await registry.get('/firmware/base/9.9.9'), 404, 'NOT_FOUND');
    assertError(t, await registry.get(`/blobs/sha256/${'0'.repeat(64)}`), 404, 'BLOB_UNKNOWN');
    t.is((await request(`${registry.url}/blobs/sha256/${'0'.repeat(64)}`, { method: 'HEAD' })).status, 404, 'HEAD: the status, no body');
    for (const bad of ['abc', 'A'.repeat(64), `${'0'.repeat(63)}g`, `sha256:${'0'.repeat(64)}`]) {
      assertError(t, await registry.get(`/blobs/sha256/${bad}`), 400, 'DIGEST_INVALID');
    }
    const allowed: [string, string][] = [
      ['/firmware/base/1.0.0', 'PATCH, DELETE, HEAD, GET'],
      [`/blobs/sha256/${sha256(bytes).slice(7)}`, 'HEAD, GET'],
    ];
    for (const [url, allow] of allowed) {
      const answer = await request(`${registry.url}${url}`, { method: 'PUT' });
      t.is(answer.status, 405);
      t.is(answer.headers.allow, allow);
      t.is(answer.json().error.code, 'METHOD_NOT_ALLOWED');
    }
  });
}

for (const store of STORES) {
  storeTest(store)(titled(store, 'download: bytes the store holds but no version names are served by digest, dated when stored'), async (t) => {
    const env = await storeEnv(store);
    const registry = await startRegistry(t, env);
    const bytes = firmwareBytes();
    const stored = new Date((await putUnpublished(env, registry.dataDir, bytes)).storedAt);
    const answer = await registry.get(`/blobs/sha256/${sha256(bytes).slice(7)}`);
    t.is(answer.status, 200);
    t.true(answer.body.equals(bytes));
    t.is(answer.headers['last-modified'], new Date(Math.floor(stored.getTime() / 1000) * 1000).toUTCString());
    t.like(answer.headers, {
      etag: `"${sha256(bytes)}"`,
      'content-length': String(bytes.length),
      'cache-control': 'public, max-age=31536000, immutable',
      'accept-ranges': 'bytes',
    });
    // Not published, so answered through koa rather than the fast path: the same rules apply.
    const url = `/blobs/sha256/${sha256(bytes).slice(7)}`;
    const range = await registry.get(url, { Range: 'bytes=10-19' });
    t.is(range.status, 206);
    t.true(range.body.equals(bytes.subarray(10, 20)));
    t.is((await registry.get(url, { 'If-None-Match': `"${sha256(bytes)}"` })).status, 304);
    const unsatisfiable = await registry.get(url, { Range: `bytes=${bytes.length}-` });
    assertError(t, unsatisfiable, 416, 'RANGE_NOT_SATISFIABLE');
    t.is(unsatisfiable.headers['content-range'], `bytes */${bytes.length}`);
    assertError(t, await registry.get(url, { 'If-Match': '"nope"' }), 412, 'PRECONDITION_FAILED');
    t.like(registry.logs.findLast((line) => line.path === url), { status: 412, code: 'PRECONDITION_FAILED' });
  });
}

for (const store of STORES) {
  storeTest(store)(titled(store, 'download: a large body arrives whole, through many chunks'), async (t) => {
    const registry = await startRegistry(t, await storeEnv(store));
    const bytes = firmwareBytes(5 * 1024 * 1024 + 7);
    await registry.publish({ name: 'big', version: '1.0.0' }, bytes);
    const answer = await registry.get('/firmware/big/1.0.0');
    t.true(answer.body.equals(bytes));
    const range = await registry.get('/firmware/big/1.0.0', { Range: 'bytes=1000000-4999999' });
    t.true(range.body.equals(bytes.subarray(1_000_000, 5_000_000)), 'a large range streams too');
  });
}

for (const store of STORES) {
  storeTest(store)(titled(store, 'download: a blob cut short on disk ends the connection instead of passing as whole'), async (t) => {
    const env = await storeEnv(store);
    const registry = await startRegistry(t, env);
    const bytes = firmwareBytes(3 * 1024 * 1024);
    await registry.publish({ name: 'base', version: '1.0.0' }, bytes);
    await cutShort(env, registry.dataDir, bytes, 1024 * 1024);
    await t.throwsAsync(registry.get('/firmware/base/1.0.0'), { message: /aborted|socket hang up|ECONNRESET/ });
    assertError(t, await registry.get('/firmware/base/1.0.0', { Range: 'bytes=2000000-2000009' }), 500, 'BLOB_TRUNCATED');
  });
}

for (const store of STORES) {
  storeTest(store)(titled(store, 'download: a client that disconnects mid-body releases it, and others are served'), async (t) => {
    const registry = await startRegistry(t, await storeEnv(store));
    const bytes = firmwareBytes(16 * 1024 * 1024);
    t.is((await registry.publish({ name: 'big', version: '1.0.0' }, bytes)).status, 201);
    const { port } = new URL(registry.url);
    const socket = net.connect(Number(port), '127.0.0.1');
    socket.write('GET /firmware/big/1.0.0 HTTP/1.1\r\nHost: x\r\n\r\n');
    await new Promise((resolve) => socket.once('data', resolve));
    t.is(registry.activity().downloads, 1);
    socket.destroy();
    await waitFor(() => registry.activity().downloads === 0);
    t.true((await registry.get('/firmware/big/1.0.0')).body.equals(bytes));
  });
}

for (const store of STORES) {
  storeTest(store)(titled(store, 'download: a client that stops reading is cut off after the idle timeout, and releases the body'), async (t) => {
    const env = await storeEnv(store, { IDLE_TIMEOUT_SECONDS: '0.5' });
    const registry = await startRegistry(t, env);
    const bytes = firmwareBytes(32 * 1024 * 1024);
    // Stored directly: 32 MiB uploaded through a server with a 0.5 s idle timeout could be cut
    // off themselves on a busy machine.
    await putUnpublished(env, registry.dataDir, bytes);
    const { port } = new URL(registry.url);
    const socket = net.connect({ port: Number(port), host: '127.0.0.1' });
    // Cut off means closed: with 32 MiB unread, the kernel may end it with a reset, not a FIN.
    let reset: unknown;
    socket.on('error', (error) => (reset = error));
    const closed = new Promise((resolve) => socket.once('close', resolve));
    socket.write(`GET /blobs/sha256/${sha256(bytes).slice(7)} HTTP/1.1\r\nHost: x\r\n\r\n`);
    // On a busy machine the first bytes from an object store can take longer than the idle
    // timeout itself, which then cuts the connection before it carries any: that is a cut-off too.
    const answered = await Promise.race([new Promise((resolve) => socket.once('data', () => resolve(true))), closed.then(() => false)]);
    socket.pause();
    if (answered && !socket.destroyed) t.is(registry.activity().downloads, 1);
    await waitFor(() => registry.activity().downloads === 0);
    socket.resume();
    await closed;
    if (reset) t.is((reset as NodeJS.ErrnoException).code, 'ECONNRESET');
    t.true(socket.destroyed, 'the server closed the connection');
  });
}

/** Damage behind the registry's back: the stored blob keeps only its first `length` bytes. */
async function cutShort(env: Record<string, string>, dataDir: string, bytes: Buffer, length: number): Promise<void> {
  const hex = sha256(bytes).slice(7);
  if (env.BLOB_STORE !== 's3') {
    const blob = path.join(dataDir, '.blobs', 'sha256', hex.slice(0, 2), hex);
    await fs.chmod(blob, 0o644);
    return fs.truncate(blob, length);
  }
  const client = rawClient(await ceph());
  try {
    await client.send(new PutObjectCommand({ Bucket: env.S3_BUCKET, Key: `sha256/${hex}`, Body: bytes.subarray(0, length) }));
  } finally {
    client.destroy();
  }
}

function parseByteRanges(body: Buffer, boundary: string) {
  const parts: { contentType: string; contentRange: string; start: number; end: number; bytes: Buffer }[] = [];
  let at = 0;
  const expect = (text: string) => {
    if (body.subarray(at, at + text.length).toString('latin1') !== text) {
      throw new Error(`expected ${JSON.stringify(text)} at ${at}, found ${JSON.stringify(body.subarray(at, at + text.length).toString('latin1'))}`);
    }
    at += text.length;
  };
  for (;;) {
    expect(`\r\n--${boundary}`);
    if (body.subarray(at, at + 2).toString() === '--') {
      expect('--\r\n');
      if (at !== body.length) throw new Error('bytes after the close delimiter');
      return parts;
    }
    expect('\r\n');
    const headersEnd = body.indexOf('\r\n\r\n', at);
    const headers = Object.fromEntries(
      body
        .subarray(at, headersEnd)
        .toString('latin1')
        .split('\r\n')
        .map((line) => line.split(': ') as [string, string]),
    );
    at = headersEnd + 4;
    const [, start, end] = /^bytes (\d+)-(\d+)\/\d+$/.exec(headers['Content-Range'] ?? '') ?? [];
    const length = Number(end) - Number(start) + 1;
    parts.push({ contentType: String(headers['Content-Type']), contentRange: String(headers['Content-Range']), start: Number(start), end: Number(end), bytes: body.subarray(at, at + length) });
    at += length;
  }
}
