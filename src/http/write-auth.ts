import type { Context, Next } from 'koa';
import type { WriteTokens } from '../auth/write-tokens.js';
import { RegistryError } from '../errors.js';

/**
 * Guards writes with bearer tokens (SPEC §3): no token → 401 with `WWW-Authenticate: Bearer`
 * (RFC 6750 §3), a wrong one → 403. With no tokens configured, writes are open.
 */
export function requireWriteToken(tokens: WriteTokens) {
  return async function checkWriteToken(ctx: Context, next: Next): Promise<void> {
    if (!tokens.enabled) return next();
    const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(ctx.get('Authorization'));
    if (!match?.[1]) {
      ctx.set('WWW-Authenticate', 'Bearer realm="spore-registry"');
      throw new RegistryError('UNAUTHORIZED', 'writing needs a token: send "Authorization: Bearer <token>"');
    }
    if (!tokens.accepts(match[1])) throw new RegistryError('FORBIDDEN', 'this token may not write to the registry');
    return next();
  };
}
