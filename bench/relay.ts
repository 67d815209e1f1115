import http from 'node:http';

/**
 * `node relay.js <url>`: the least a Node server can do to pass an object on: every request
 * is one GET of `<url>` (with the client's Range) on a keep-alive agent, piped to the client.
 * The S3 bench measures it beside the registry to show what relaying bytes through Node costs
 * on the machine itself, apart from anything the registry does. Logs `{"url": …}` once it
 * listens, as processes.ts expects.
 */
const target = process.argv[2] ?? '';
const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });

const server = http.createServer((req, res) => {
  const range = req.headers.range;
  http
    .get(target, { agent, headers: range ? { Range: range } : {} }, (upstream) => {
      const headers: http.OutgoingHttpHeaders = { 'Content-Type': 'application/octet-stream' };
      for (const name of ['content-length', 'content-range', 'etag', 'last-modified', 'accept-ranges']) {
        if (upstream.headers[name] !== undefined) headers[name] = upstream.headers[name];
      }
      res.writeHead(upstream.statusCode ?? 502, headers);
      upstream.pipe(res);
      res.on('close', () => upstream.destroy());
    })
    .on('error', () => res.destroy());
});
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  if (address && typeof address === 'object') console.log(JSON.stringify({ url: `http://127.0.0.1:${address.port}` }));
});
