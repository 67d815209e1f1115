import net from 'node:net';
import type { ExecutionContext } from 'ava';
import { firmwareBytes } from '../helpers/fixtures.js';
import { firmwareUpload } from '../helpers/multipart.js';
import { startRegistry, type TestRegistry } from '../helpers/registry-server.js';
import { STORES, storeContents, storeEnv, storeTest, titled } from '../helpers/stores.js';
import { waitFor } from '../helpers/wait-for.js';

/**
 * An upload that announces 100 kB, sends its headers, its metadata and the first bytes of its
 * firmware, then one byte every 100 ms: about 10 bytes a second, each byte resetting any idle
 * timer. `answer` is whatever the server sent before the connection closed.
 */
function trickle(t: ExecutionContext, registry: TestRegistry, version: string) {
  const { contentType, body } = firmwareUpload({ name: 'trickle', version }, firmwareBytes(100_000));
  const { port } = new URL(registry.url);
  const socket = net.connect(Number(port), '127.0.0.1');
  socket.on('error', () => {});
  let sent = 0;
  let timer: NodeJS.Timeout | undefined;
  const answer = new Promise<string>((resolve) => {
    let text = '';
    socket.on('data', (chunk) => (text += chunk.toString('latin1')));
    socket.once('close', () => {
      clearInterval(timer);
      resolve(text);
    });
  });
  let closed = false;
  void answer.then(() => (closed = true));
  socket.write(`POST /firmware HTTP/1.1\r\nHost: x\r\nContent-Type: ${contentType}\r\nContent-Length: ${body.length}\r\n\r\n`);
  socket.write(body.subarray(0, (sent = 400)));
  timer = setInterval(() => socket.write(body.subarray(sent, ++sent)), 100);
  t.teardown(() => {
    clearInterval(timer);
    socket.destroy();
  });
  return { answer, closed: () => closed };
}

for (const kind of STORES) {
  storeTest(kind)(titled(kind, 'uploads: clients trickling below MIN_UPLOAD_RATE are answered 408 UPLOAD_TOO_SLOW and give their slot back'), async (t) => {
    const env = await storeEnv(kind, { MAX_CONCURRENT_UPLOADS: '2', MIN_UPLOAD_RATE: '1K', MIN_UPLOAD_RATE_WINDOW_SECONDS: '0.5' });
    const registry = await startRegistry(t, env);
    const tempEntries = async () => (await storeContents(env, registry.dataDir)).temp.length;
    const tricklers = [trickle(t, registry, '1.0.0'), trickle(t, registry, '1.0.1')];
    // Both hold a slot: their firmware is being staged (in `.tmp`; the S3 store holds a body
    // smaller than one part in memory until its end, so there the wait is for the refusals).
    await waitFor(async () => (await tempEntries()) === 2 || tricklers.some((trickler) => trickler.closed()));
    await waitFor(() => tricklers.every((trickler) => trickler.closed()));
    for (const trickler of tricklers) {
      // Readable although the client is still sending: the server lingers after refusing.
      const answer = await trickler.answer;
      t.regex(answer, /^HTTP\/1\.1 408 Request Timeout\r\n/);
      t.regex(answer, /\r\nConnection: close\r\n[\s\S]*"code":"UPLOAD_TOO_SLOW"/);
    }
    await waitFor(async () => (await tempEntries()) === 0);
    const upload = await registry.publish({ name: 'base', version: '1.0.0' }, firmwareBytes(1_000_000));
    t.is(upload.status, 201, 'a publisher at full speed gets a slot and is not cut off');
    await waitFor(() => registry.logs.filter((line) => line.code === 'UPLOAD_TOO_SLOW').length === 2);
  });
}
