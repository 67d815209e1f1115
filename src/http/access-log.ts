import type { Context, Next } from 'koa';
import type { Logger } from '../log.js';

/** One line per request, written when the response is done or the client is gone (SPEC §6). */
export function accessLog(log: Logger) {
  return async function logRequest(ctx: Context, next: Next): Promise<void> {
    const started = performance.now();
    let finished = false;
    ctx.res.once('finish', () => (finished = true));
    ctx.res.once('close', () => {
      const { error } = ctx.state as { error?: { code: string } };
      log.info(
        {
          method: ctx.method,
          path: ctx.path,
          status: ctx.status,
          bytes: finished ? (ctx.response.length ?? 0) : undefined,
          ms: Math.round((performance.now() - started) * 10) / 10,
          ...(finished ? {} : { aborted: true }),
          ...(error ? { code: error.code } : {}),
        },
        'request',
      );
    });
    await next();
  };
}
