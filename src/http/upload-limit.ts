import type { Middleware } from 'koa';
import { RegistryError } from '../errors.js';

/**
 * At most `max` uploads are received at once; one more is answered 503 with Retry-After
 * (RFC 9110 §10.2.3) rather than queued: a client holding a socket open while it waits costs
 * the server as much as one that is sending, and clients (CI) retry.
 */
export function limitConcurrency(max: number): Middleware {
  let active = 0;
  return async (ctx, next) => {
    if (active >= max) {
      ctx.set('Retry-After', '5');
      throw new RegistryError('UNAVAILABLE', `the registry is receiving ${max} uploads already; retry shortly`, { limit: max });
    }
    active++;
    try {
      await next();
    } finally {
      active--;
    }
  };
}
