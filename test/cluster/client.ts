import http from 'node:http';

/** Where a request went: nginx, or one instance directly. */
export type Target = 'nginx' | number;

export function targetName(target: Target): string {
  return target === 'nginx' ? 'nginx' : `instance ${target}`;
}

export interface Sent {
  target: Target;
  method: string;
  path: string;
  startedAt: number;
  endedAt: number;
}

/** An answer: its status, headers and whole body. */
export interface Answered extends Sent {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  /** The error code of a JSON error body (SPEC §3), if the body is one. */
  code: string | undefined;
}

/** No answer: the connection was refused or cut (`ECONNRESET`, `socket hang up`...), or it timed out. */
export interface Unanswered extends Sent {
  failure: string;
}

export type Outcome = Answered | Unanswered;

export function answered(outcome: Outcome): outcome is Answered {
  return !('failure' in outcome);
}

/** Beyond this a request counts as failed ('timeout'): a hung instance must not hang the test. */
const TIMEOUT_MS = 15_000;

/**
 * One request on a connection of its own (no keep-alive: a kept-alive connection that the server
 * closes just as the next request goes out would be a failure of the client, not of the
 * cluster). Never rejects: a failure is an outcome.
 */
export function call(urls: Record<string, string>, target: Target, method: string, path: string, init: { headers?: Record<string, string | number>; body?: Buffer } = {}): Promise<Outcome> {
  const base = new URL(urls[String(target)]!);
  const startedAt = Date.now();
  const sent = { target, method, path };
  return new Promise((resolve) => {
    const fail = (error: Error & { code?: string }) => resolve({ ...sent, startedAt, endedAt: Date.now(), failure: error.code ?? error.message });
    const req = http.request({ hostname: base.hostname, port: base.port, path, method, headers: init.headers, agent: false, timeout: TIMEOUT_MS }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      // The connection died after the answer began.
      res.on('error', fail);
      res.on('close', () => {
        if (!res.complete) fail(Object.assign(new Error('answer cut'), { code: 'ANSWER_CUT' }));
      });
      res.on('end', () => {
        const body = Buffer.concat(chunks);
        resolve({ ...sent, startedAt, endedAt: Date.now(), status: res.statusCode ?? 0, headers: res.headers, body, code: errorCode(res.headers, body) });
      });
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })));
    req.on('error', fail);
    req.end(init.body);
  });
}

function errorCode(headers: http.IncomingHttpHeaders, body: Buffer): string | undefined {
  if (!headers['content-type']?.startsWith('application/json')) return undefined;
  try {
    const parsed = JSON.parse(body.toString('utf8')) as { success?: boolean; error?: { code?: unknown } };
    return parsed.success === false && typeof parsed.error?.code === 'string' ? parsed.error.code : undefined;
  } catch {
    return undefined;
  }
}
