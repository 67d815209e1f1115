import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Context, Next } from 'koa';
import type { Logger } from '../log.js';

/**
 * One line per request, written when the answer is out or the client is gone (SPEC §6):
 * method, path, status, bytes (the Content-Length sent), duration, and the error code if any.
 */
export function logWhenDone(log: Logger, req: IncomingMessage, res: ServerResponse, errorCode: () => string | undefined): void {
  const started = performance.now();
  let finished = false;
  res.once('finish', () => (finished = true));
  res.once('close', () => {
    const code = errorCode();
    log.info(
      {
        method: req.method,
        path: (req.url ?? '').split('?', 1)[0],
        status: res.statusCode,
        ...(finished ? { bytes: Number(res.getHeader('Content-Length') ?? 0) } : { aborted: true }),
        ms: Math.round((performance.now() - started) * 10) / 10,
        ...(code ? { code } : {}),
      },
      'request',
    );
  });
}

export function accessLog(log: Logger) {
  return async function logRequest(ctx: Context, next: Next): Promise<void> {
    logWhenDone(log, ctx.req, ctx.res, () => (ctx.state as { error?: { code: string } }).error?.code);
    await next();
  };
}
