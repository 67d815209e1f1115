import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Context, Next } from 'koa';
import type { Logger } from '../log.js';
import type { Metrics } from './metrics.js';
import { RequestIds } from './request-id.js';

export interface Observer {
  log: Logger;
  metrics: Metrics;
  /** Believe X-Forwarded-For (its last hop: the one proxy in front) for the client address. */
  trustProxy: boolean;
}

/** A client's own request id is kept when it is a plain token; anything else is replaced. */
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const ids = new RequestIds();

/** What is taken of a request when it arrives: its id, its client's address and the time. */
export interface RequestStart {
  requestId: string;
  ip: string;
  started: number;
}

/** What is logged and counted of an answer. */
export interface RequestOutcome {
  route: string;
  /** Absent when the client went away before any answer went out. */
  status?: number | undefined;
  /** Body bytes sent (a HEAD's none); absent when the answer was cut short. */
  bytes?: number | undefined;
  code?: string | undefined;
}

/**
 * Every request, however it is answered (koa or a fast path), gets an X-Request-Id for its
 * answer (the client's, or a new one) and, once the answer is out or the client is gone, one
 * log line (SPEC §6: method, route, path, status, bytes, duration, request id, client address,
 * error code) and the request metrics.
 *
 * `startRequest` takes what must be read on arrival; `requestAnswered` logs an answer sent at
 * once (the fast paths know its status and size: no listener, no reading them back), and
 * `observeRequest` an answer that ends later.
 */
export function startRequest(observer: Observer, req: IncomingMessage): RequestStart {
  const started = performance.now();
  // Read now: once a client has gone, its socket no longer knows the address.
  const ip = clientAddress(req, observer.trustProxy);
  const given = req.headers['x-request-id'];
  return { requestId: typeof given === 'string' && REQUEST_ID.test(given) ? given : ids.next(), ip, started };
}

/** The log line and metrics of an answer that is out (or of a client gone before it). */
export function requestAnswered(observer: Observer, req: IncomingMessage, start: RequestStart, outcome: RequestOutcome): void {
  const url = req.url ?? '';
  const query = url.indexOf('?');
  const seconds = (performance.now() - start.started) / 1000;
  const method = req.method ?? '';
  const { route, status, bytes, code } = outcome;
  observer.log.request({
    method,
    route,
    path: query === -1 ? url : url.slice(0, query),
    status,
    bytes,
    ms: Math.round(seconds * 10_000) / 10,
    code,
    requestId: start.requestId,
    ip: start.ip,
  });
  observer.metrics.observe({ method, route, status: status ?? 'aborted', bytes: bytes ?? 0, seconds });
}

/**
 * Starts observing a request whose answer ends later: it is logged when the answer is out or
 * the client is gone. Returns the request id, which the caller puts on the answer first (a
 * setHeader before writeHead makes node:http merge and check every header again).
 */
export function observeRequest(observer: Observer, req: IncomingMessage, res: ServerResponse, outcome: () => { route: string; code?: string | undefined }): string {
  const start = startRequest(observer, req);
  answeredOnClose(observer, req, res, start, outcome);
  return start.requestId;
}

/** Logs a started request when its response closes: the answer out, or the client gone. */
export function answeredOnClose(observer: Observer, req: IncomingMessage, res: ServerResponse, start: RequestStart, outcome: () => { route: string; code?: string | undefined }): void {
  res.once('close', () => {
    const { route, code } = outcome();
    // A client gone before any answer went out (an aborted upload) has no status: koa's
    // default 404 would be a lie in the log and in the metrics.
    const status = res.headersSent ? res.statusCode : undefined;
    requestAnswered(observer, req, start, { route, status, bytes: res.writableEnded ? sentBodyBytes(req.method, res) : undefined, code });
  });
}

/** Body bytes of an answer that is out: a HEAD states the Content-Length of its GET and sends none; a 304 sends none. */
export function sentBodyBytes(method: string | undefined, res: ServerResponse): number {
  return method === 'HEAD' || res.statusCode === 304 ? 0 : sentContentLength(res);
}

export function accessLog(observer: Observer) {
  return async function logRequest(ctx: Context, next: Next): Promise<void> {
    const requestId = observeRequest(observer, ctx.req, ctx.res, () => ({
      route: (ctx as Context & { _matchedRoute?: string })._matchedRoute ?? '(none)',
      code: (ctx.state as { error?: { code: string } }).error?.code,
    }));
    ctx.res.setHeader('X-Request-Id', requestId);
    await next();
  };
}

function clientAddress(req: IncomingMessage, trustProxy: boolean): string {
  if (trustProxy) {
    // The last hop is the one our own proxy added; earlier ones are whatever the client sent.
    const forwarded = req.headers['x-forwarded-for'];
    const last = (Array.isArray(forwarded) ? forwarded.join(',') : forwarded)?.split(',').pop()?.trim();
    if (last) return last;
  }
  return req.socket.remoteAddress ?? '';
}

/**
 * The Content-Length an answer went out with. Koa sets it with setHeader; the fast paths give
 * every header to writeHead at once (cheaper: see Downloads.send), and then only the header
 * block node:http wrote keeps it.
 */
function sentContentLength(res: ServerResponse): number {
  const set = res.getHeader('Content-Length');
  if (set !== undefined) return Number(set);
  const head = (res as ServerResponse & { _header?: string | null })._header;
  if (!head) return 0;
  // The fast paths' lists spell it so; anything else, a search that ignores case.
  const at = head.indexOf('\r\nContent-Length: ');
  if (at !== -1) return Number.parseInt(head.slice(at + 18, head.indexOf('\r', at + 18)), 10);
  const match = /\r\ncontent-length: *(\d+)/i.exec(head);
  return match ? Number(match[1]) : 0;
}
