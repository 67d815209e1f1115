import { readFileSync } from 'node:fs';
import http from 'node:http';

/** One answer the bare server gives: the registry's own, as it went out. */
export interface RecordedAnswer {
  status: number;
  /** Header fields as a flat list, X-Request-Id first; node:http adds Date and Connection. */
  headers: string[];
  /** The body, base64. */
  body: string;
}

/**
 * The floor under any node:http server on this machine: plain node:http giving the registry's
 * answers (recorded by polling.ts: the same status, header fields and body bytes, an id of the
 * same length) with nothing else — no routing, no index, no log line, no metrics. It reads the
 * request's header fields, as any server that answers conditionals must. The bench measures it
 * beside the registry and nginx, so a ratio the registry misses splits into what node:http
 * itself costs here and what the registry adds.
 *
 *   GET /<n>   the n-th answer of ANSWERS_FILE (a JSON list of RecordedAnswer)
 *
 * Started by polling.ts as `node bare-http.js`; prints {"url":…} once it listens.
 */
const answers = (JSON.parse(readFileSync(String(process.env.ANSWERS_FILE), 'utf8')) as RecordedAnswer[]).map((answer) => ({
  status: answer.status,
  headers: answer.headers,
  body: Buffer.from(answer.body, 'base64'),
}));

const server = http.createServer((req, res) => {
  const answer = answers[Number((req.url ?? '').slice(1))];
  if (!answer) return void res.writeHead(404).end();
  // node:http makes req.headers on first use; a server answering conditionals and ranges reads them.
  void req.headers;
  res.writeHead(answer.status, answer.headers);
  if (answer.body.length > 0) res.end(answer.body);
  else res.end();
});
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as { port: number };
  console.log(JSON.stringify({ url: `http://127.0.0.1:${port}` }));
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
