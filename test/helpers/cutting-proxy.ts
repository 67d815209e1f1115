import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ExecutionContext } from 'ava';

/**
 * A loopback proxy in front of a registry that passes every answer through but ends the
 * connection after `cutAfter` body bytes of a GET: a download over a link that drops, exactly
 * reproducible. The bytes before the cut are flushed first (socket.end), so the client has
 * them all. Closed when the test ends.
 */
export async function cuttingProxy(t: ExecutionContext, target: string, cutAfter: number): Promise<string> {
  const server = http.createServer((req, res) => {
    const upstream = http.request(new URL(req.url ?? '/', target), { method: req.method, headers: req.headers, agent: false }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      if (req.method !== 'GET') {
        answer.pipe(res);
        return;
      }
      let sent = 0;
      answer.on('data', (chunk: Buffer) => {
        if (sent >= cutAfter) return;
        const part = chunk.subarray(0, cutAfter - sent);
        sent += part.length;
        res.write(part);
        if (sent >= cutAfter) {
          answer.destroy();
          res.socket?.end();
        }
      });
      answer.on('end', () => res.end());
    });
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}
