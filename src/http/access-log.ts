import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Context, Next } from 'koa';
import type { Logger } from '../log.js';

/**
 * One line per request, written when the answer is out or the client is gone (SPEC §6):
 * method, path, status, bytes (the Content-Length sent), duration, and the error code if any.
 * A response that was never ended was cut off: it is logged as aborted, without bytes.
 */
export function logWhenDone(log: Logger, req: IncomingMessage, res: ServerResponse, errorCode: () => string | undefined): void {
  const started = performance.now();
  res.once('close', () => {
    const url = req.url ?? '';
    const query = url.indexOf('?');
    log.request({
      method: req.method ?? '',
      path: query === -1 ? url : url.slice(0, query),
      status: res.statusCode,
      bytes: res.writableEnded ? Number(res.getHeader('Content-Length') ?? 0) : undefined,
      ms: Math.round((performance.now() - started) * 10) / 10,
      code: errorCode(),
    });
  });
}

export function accessLog(log: Logger) {
  return async function logRequest(ctx: Context, next: Next): Promise<void> {
    logWhenDone(log, ctx.req, ctx.res, () => (ctx.state as { error?: { code: string } }).error?.code);
    await next();
  };
}
