import type { Context, Next } from 'koa';
import { RegistryError } from '../errors.js';
import type { Logger } from '../log.js';
import { asRegistryError, errorBody } from './error-response.js';
import { RETRY_AFTER_SECONDS, STATUS_OF } from './error-status.js';
import type { LingeringClose } from './lingering-close.js';

/**
 * Headers that explain the error itself: RFC 9110 §15.5.6 (405 needs Allow), §15.5.17 (416
 * names the size in Content-Range), §10.2.3 (503 says when to retry), RFC 6750 §3 (401 needs
 * WWW-Authenticate); and the ones that belong to every answer: the request id, CORS.
 */
const KEPT_ON_ERROR = new Set(['allow', 'content-range', 'retry-after', 'www-authenticate', 'x-request-id', 'vary']);
const KEPT_PREFIX = 'access-control-';

/**
 * The one error sink (after koa's own): every failure becomes the JSON shape of SPEC §3.
 * Registry errors show their message and facts; anything else is logged with its cause and
 * answered 500 without internals. Router misses (404, 405) get the same shape.
 */
export function errorMiddleware(log: Logger, lingering: LingeringClose) {
  return async function handleErrors(ctx: Context, next: Next): Promise<void> {
    try {
      await next();
      if (ctx.status === 404 && ctx.body == null) {
        throw new RegistryError('NOT_FOUND', `no route for ${ctx.method} ${ctx.path}`);
      }
      if ((ctx.status === 405 || ctx.status === 501) && ctx.body == null) {
        throw new RegistryError('METHOD_NOT_ALLOWED', `${ctx.method} is not allowed on ${ctx.path}; allowed: ${ctx.response.get('Allow')}`, {
          allow: String(ctx.response.get('Allow')),
        });
      }
    } catch (caught) {
      const error = asRegistryError(caught, log, ctx);
      ctx.state.error = error;
      if (ctx.headerSent) {
        // Too late for an answer: cut the connection so the client sees a failure, not a short body.
        ctx.req.socket.destroy();
        return;
      }
      // Headers set for the success path (ETag, Content-Disposition...) do not describe an error;
      // the ones that explain the error itself stay.
      for (const name of ctx.res.getHeaderNames()) {
        if (!KEPT_ON_ERROR.has(name) && !name.startsWith(KEPT_PREFIX)) ctx.res.removeHeader(name);
      }
      if (!ctx.req.complete) {
        // Refused before the body was read (too large, no token): close the connection rather
        // than read a body nobody wants only to keep the connection alive; but linger, so the
        // client, still sending, can read this answer (see lingering-close.ts).
        ctx.set('Connection', 'close');
        lingering.afterAnswer(ctx.req.socket);
      }
      ctx.status = STATUS_OF[error.code];
      const retryAfter = RETRY_AFTER_SECONDS[error.code];
      if (retryAfter !== undefined && !ctx.response.get('Retry-After')) ctx.set('Retry-After', String(retryAfter));
      ctx.body = errorBody(error);
    }
  };
}
