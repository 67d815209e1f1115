import http from 'node:http';

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  /** The body parsed as JSON; throws when it is not JSON. */
  json<T = any>(): T;
}

export interface RawRequest {
  method?: string;
  headers?: Record<string, string | number>;
  body?: Buffer | string | AsyncIterable<Buffer>;
}

/**
 * One request with node:http and nothing in between, so the path and every header are
 * exactly as written and as the server sent them (fetch would normalise, decode and merge).
 */
export function request(url: string, { method = 'GET', headers = {}, body }: RawRequest = {}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    // The path goes out exactly as written: a WHATWG URL would resolve `%2e%2e` and `..`.
    const { hostname, port, origin } = new URL(url);
    const options = { hostname, port, path: url.slice(origin.length) || '/', method, headers, agent: false };
    const req = http.request(options, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () => {
        const bytes = Buffer.concat(chunks);
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: bytes,
          json: () => JSON.parse(bytes.toString('utf8')),
        });
      });
    });
    req.on('error', reject);
    if (body === undefined || typeof body === 'string' || Buffer.isBuffer(body)) {
      req.end(body);
    } else {
      (async () => {
        for await (const chunk of body) {
          if (!req.write(chunk)) await new Promise((drain) => req.once('drain', drain));
        }
        req.end();
      })().catch((error: unknown) => req.destroy(error as Error));
    }
  });
}
