import { createReadStream, statSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import type { AddressInfo } from 'node:net';

/**
 * The reference for downloads: the least a Node server can do to send a file — stat, headers,
 * `fs.createReadStream(...).pipe(res)` — with no framework, no index and no checks.
 */
const root = process.argv[2] ?? '.';
const server = http.createServer((req, res) => {
  const file = path.join(root, path.basename(req.url ?? '/'));
  try {
    const { size } = statSync(file);
    res.writeHead(200, { 'Content-Length': size, 'Content-Type': 'application/octet-stream' });
    createReadStream(file).pipe(res);
  } catch {
    res.writeHead(404).end();
  }
});
server.listen(0, '127.0.0.1', () => {
  console.log(JSON.stringify({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }));
});
process.once('SIGTERM', () => server.close(() => process.exit(0)));
