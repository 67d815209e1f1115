import { once } from 'node:events';
import fs from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { findNginx, startNginxWith } from '../../bench/nginx.js';
import { spawnServer } from '../helpers/child-server.js';
import { firmwareBytes } from '../helpers/fixtures.js';
import { firmwareUpload } from '../helpers/multipart.js';
import { startRegistry } from '../helpers/registry-server.js';
import { STORES, storeContents, storeEnv, storeTest, titled, type Register, type StoreKind } from '../helpers/stores.js';
import { tempDir } from '../helpers/temp-dir.js';
import { curlUpload, fetchUpload, type ClientOutcome, type ClientUpload } from '../helpers/upload-clients.js';
import { waitFor } from '../helpers/wait-for.js';

const TOKEN = 'ci-token';
const REPEAT = 20;
const SIZES = { '2 KiB': 2 * 1024, '5 MiB': 5 * 1024 * 1024 };
type Client = (url: string, upload: ClientUpload) => Promise<ClientOutcome>;

/** Every refusal decided before the body is read, and what the client must read. */
const REFUSALS: { title: string; status: number; code: string; upload: (file: string) => ClientUpload }[] = [
  { title: 'no token', status: 401, code: 'UNAUTHORIZED', upload: (file) => ({ file, metadata: { name: 'base', version: '1.0.0' } }) },
  { title: 'a wrong token', status: 403, code: 'FORBIDDEN', upload: (file) => ({ file, metadata: { name: 'base', version: '1.0.0' }, headers: { Authorization: 'Bearer wrong' } }) },
  { title: 'too large', status: 413, code: 'TOO_LARGE', upload: (file) => ({ file, metadata: { name: 'base', version: '1.0.0' }, headers: { Authorization: `Bearer ${TOKEN}` } }) },
  { title: 'not multipart', status: 415, code: 'UNSUPPORTED_MEDIA_TYPE', upload: (file) => ({ file, metadata: {}, raw: true, headers: { Authorization: `Bearer ${TOKEN}` } }) },
];
const BUSY = { title: 'every slot taken', status: 503, code: 'UNAVAILABLE', upload: (file: string): ClientUpload => ({ file, metadata: { name: 'base', version: '1.0.0' }, headers: { Authorization: `Bearer ${TOKEN}` } }) };

interface Registry {
  url: string;
  dataDir: string;
  env: Record<string, string>;
}

/**
 * A registry with tokens on, on `kind` of store, in a process of its own, as in production: a
 * client in the same process shares its event loop and may have written its whole body before
 * the server reads the headers.
 */
async function refusingRegistry(t: ExecutionContext, kind: StoreKind, extra: Record<string, string>): Promise<Registry> {
  const dir = await tempDir(t);
  const env = await storeEnv(kind, { REGISTRY_TOKENS: TOKEN, MIN_UPLOAD_RATE: '0', ...extra });
  const server = await spawnServer(t, dir, env);
  return { url: server.url, dataDir: path.join(dir, 'registry'), env };
}

/**
 * Holds the one upload slot: an upload that sends its start, then a byte a second. The start is
 * more than one S3 part (8 MiB), so that either store shows the upload in its temp area.
 */
async function holdTheSlot(t: ExecutionContext, registry: Registry): Promise<void> {
  const { contentType, body } = firmwareUpload({ name: 'held', version: '1.0.0' }, firmwareBytes(9 << 20));
  const socket = net.connect(Number(new URL(registry.url).port), '127.0.0.1');
  socket.on('error', () => {});
  socket.write(`POST /firmware HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Type: ${contentType}\r\nContent-Length: ${body.length}\r\n\r\n`);
  let sent = (8 << 20) + 4096;
  socket.write(body.subarray(0, sent));
  const timer = setInterval(() => socket.write(body.subarray(sent, ++sent)), 1000);
  t.teardown(() => {
    clearInterval(timer);
    socket.destroy();
  });
  await waitFor(async () => (await storeContents(registry.env, registry.dataDir)).temp.length === 1);
}

/**
 * Sends every refusal REPEAT times with both body sizes, four at a time, and returns what went
 * wrong: each outcome that is not the expected status with its JSON error code.
 */
async function refuseAll(t: ExecutionContext, client: Client, url: string, refusals: typeof REFUSALS): Promise<string[]> {
  const dir = await tempDir(t);
  const wrong: string[] = [];
  for (const [size, length] of Object.entries(SIZES)) {
    const file = path.join(dir, `fw-${length}.bin`);
    await fs.writeFile(file, firmwareBytes(length));
    for (const refusal of refusals) {
      for (let run = 0; run < REPEAT; run += 4) {
        const outcomes = await Promise.all([0, 1, 2, 3].map(() => client(url, refusal.upload(file))));
        for (const outcome of outcomes) {
          if ('failure' in outcome || outcome.status !== refusal.status || outcome.code !== refusal.code) {
            wrong.push(`${refusal.title}, ${size}: ${JSON.stringify(outcome)}`);
          }
        }
      }
    }
  }
  return wrong;
}

for (const [name, client] of [
  ['fetch (FormData)', fetchUpload],
  ['curl -F', curlUpload],
] as const) {
  for (const kind of STORES) {
    storeTest(kind)(titled(kind, `refusals: ${name} reads the JSON answer of every refused upload, small and large`), async (t) => {
      const [small, busy] = await Promise.all([refusingRegistry(t, kind, { MAX_UPLOAD_BYTES: '1K' }), refusingRegistry(t, kind, { MAX_CONCURRENT_UPLOADS: '1' })]);
      await holdTheSlot(t, busy);
      const wrong = [...(await refuseAll(t, client, small.url, REFUSALS)), ...(await refuseAll(t, client, busy.url, [BUSY]))];
      t.deepEqual(wrong, [], `${wrong.length} of ${(REFUSALS.length + 1) * REPEAT * 2} refusals not read`);
    });
  }
}

const nginx = findNginx();
// Skipped, and said so in the summary, where nginx is not installed (apt-get install nginx).
for (const kind of STORES) {
  const register: Register = nginx ? storeTest(kind) : test.skip;
  register(titled(kind, 'refusals: behind nginx as the README sets it up, curl reads every refusal, never a 502'), async (t) => {
    const registry = await refusingRegistry(t, kind, { MAX_UPLOAD_BYTES: '1K', TRUST_PROXY: 'true' });
    const dir = await tempDir(t);
    const proxy = await startNginxWith(
      nginx as string,
      dir,
      `client_max_body_size 1g;
      location / {
        proxy_pass ${registry.url};
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_set_header Host $host;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_request_buffering off;
        proxy_read_timeout 300s;
      }`,
    );
    t.teardown(() => proxy.stop());
    // With and without waiting for 100 Continue: nginx sends its own 100 as it starts passing the
    // body on, so both send the body. (Node's fetch loses some refusals through nginx whatever
    // the registry does: nginx keeps the connection alive after discarding the body, then closes
    // it under the client's next request; it does not with keepalive_timeout 0.)
    const withoutExpect: Client = (url, upload) => curlUpload(url, { ...upload, headers: { ...upload.headers, Expect: '' } });
    const wrong = [...(await refuseAll(t, curlUpload, proxy.url, REFUSALS)), ...(await refuseAll(t, withoutExpect, proxy.url, REFUSALS))];
    t.deepEqual(wrong, [], `${wrong.length} of ${REFUSALS.length * REPEAT * 2 * 2} refusals not read through nginx`);
  });
}

/**
 * A raw connection: what it received, and whether it is closed. Half-open allowed: the server's
 * FIN after its answer does not end the client's side, which goes on as told.
 */
function rawConnection(t: ExecutionContext, url: string) {
  const socket = net.connect({ port: Number(new URL(url).port), host: '127.0.0.1', allowHalfOpen: true });
  socket.on('error', () => {});
  t.teardown(() => socket.destroy());
  let received = '';
  let closed = false;
  socket.on('data', (chunk) => (received += chunk.toString('latin1')));
  const whenClosed = new Promise<void>((resolve) => socket.once('close', resolve)).then(() => void (closed = true));
  return { socket, received: () => received, closed: () => closed, whenClosed };
}

for (const kind of STORES) {
  storeTest(kind)(titled(kind, 'refusals: with Expect: 100-continue, a refusal on the headers comes instead of 100 Continue; an accepted upload gets its 100'), async (t) => {
    const registry = await startRegistry(t, await storeEnv(kind, { REGISTRY_TOKENS: TOKEN }));
    const { contentType, body } = firmwareUpload({ name: 'base', version: '1.0.0' }, firmwareBytes(4096));
    const head = (auth: string) => `POST /firmware HTTP/1.1\r\nHost: x\r\n${auth}Content-Type: ${contentType}\r\nContent-Length: ${body.length}\r\nExpect: 100-continue\r\n\r\n`;

    const refused = rawConnection(t, registry.url);
    refused.socket.write(head(''));
    await waitFor(() => refused.received().includes('"code":"UNAUTHORIZED"'));
    t.regex(refused.received(), /^HTTP\/1\.1 401 Unauthorized\r\n/, 'no 100 Continue before it');
    t.regex(refused.received(), /\r\nConnection: close\r\n/i);
    refused.socket.end();
    await waitFor(() => refused.closed());

    const accepted = rawConnection(t, registry.url);
    accepted.socket.write(head(`Authorization: Bearer ${TOKEN}\r\n`));
    await waitFor(() => accepted.received().includes('\r\n\r\n'));
    t.is(accepted.received(), 'HTTP/1.1 100 Continue\r\n\r\n');
    accepted.socket.write(body);
    await waitFor(() => accepted.received().includes('"success":true'));
    t.regex(accepted.received(), /HTTP\/1\.1 201 Created\r\n/);
  });
}

// The lingering tests are about the connection after a refusal decided on the headers: the
// blob store is never reached, so they run once (on the default store), not once per store.
test('refusals: the lingering after a refusal is bounded: a client that keeps sending is closed after 64 MiB', async (t) => {
  const registry = await startRegistry(t, { REGISTRY_TOKENS: TOKEN });
  const client = rawConnection(t, registry.url);
  client.socket.write(`POST /firmware HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: ${1024 ** 3}\r\n\r\n`);
  const chunk = Buffer.alloc(256 * 1024, 'x');
  let sent = 0;
  while (!client.closed() && sent < 1024 ** 3) {
    // Write with back-pressure; a closed connection ends the loop.
    const flushed = client.socket.write(chunk);
    sent += chunk.length;
    if (!flushed) await Promise.race([once(client.socket, 'drain').catch(() => {}), client.whenClosed]);
  }
  t.true(client.closed(), 'closed before the announced gigabyte');
  t.regex(client.received(), /^HTTP\/1\.1 401 Unauthorized\r\n[\s\S]*"code":"UNAUTHORIZED"/);
  t.true(sent >= 64 * 1024 * 1024, `read and discarded up to the limit first (${sent} bytes sent)`);
});

test('refusals: the lingering after a refusal is bounded: a client that stops sending is closed after 5 s', async (t) => {
  const registry = await startRegistry(t, { REGISTRY_TOKENS: TOKEN });
  const client = rawConnection(t, registry.url);
  client.socket.write(`POST /firmware HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: 100000\r\n\r\nxxxx`);
  await waitFor(() => client.received().includes('"code":"UNAUTHORIZED"'));
  t.is(registry.activity().lingering, 1, 'reading what may still come');
  // The client neither sends nor closes: the server lets go of the connection. Its FIN is
  // already out, so the client hears of it only from the reset its next writes meet.
  await waitFor(() => registry.activity().lingering === 0);
  await waitFor(() => {
    if (!client.closed()) client.socket.write('late');
    return client.closed();
  });
  t.pass();
});
