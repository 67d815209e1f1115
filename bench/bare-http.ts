import { readFileSync } from 'node:fs';
import http from 'node:http';

/**
 * The floor under any node:http server on this machine: plain node:http answering the same
 * bytes and headers as the registry's update check, with nothing else (no routing, no log
 * line, no metrics). The bench measures it beside the registry and nginx, so a ratio the
 * registry misses can be split into what node:http itself costs and what the registry adds.
 *
 *   GET /200   BODY_FILE as application/json, with ETAG; 304 when If-None-Match is ETAG
 *   GET /204   204 No Content
 *
 * Started by polling.ts as `node bare-http.js`; prints {"url":…} once it listens.
 */
const body = readFileSync(String(process.env.BODY_FILE));
const etag = String(process.env.ETAG);
const ok = { 'X-Request-Id': '', 'Cache-Control': 'no-cache', ETag: etag, 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': String(body.length) };

const server = http.createServer((req, res) => {
  // As the registry does: an id per answer (a fixed one here; making it is the registry's cost).
  if (req.url === '/204') return void res.writeHead(204, { 'X-Request-Id': 'bare', 'Cache-Control': 'no-cache' }).end();
  if (req.headers['if-none-match'] === etag) return void res.writeHead(304, { 'X-Request-Id': 'bare', 'Cache-Control': 'no-cache', ETag: etag }).end();
  ok['X-Request-Id'] = 'bare';
  res.writeHead(200, ok).end(body);
});
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as { port: number };
  console.log(JSON.stringify({ url: `http://127.0.0.1:${port}` }));
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
