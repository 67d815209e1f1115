import { createHash, timingSafeEqual } from 'node:crypto';
import type { Context, Next } from 'koa';
import { RegistryError } from '../errors.js';

/**
 * Guards writes with bearer tokens (SPEC §3): no token → 401 with `WWW-Authenticate: Bearer`
 * (RFC 6750 §3), a wrong one → 403. Tokens are compared as SHA-256 digests with
 * `timingSafeEqual`, so neither the content nor the length of a token leaks through timing.
 * With no tokens configured, writes are open.
 */
export function requireWriteToken(tokens: readonly string[]) {
  const allowed = tokens.map(fingerprint);
  return async function checkWriteToken(ctx: Context, next: Next): Promise<void> {
    if (allowed.length === 0) return next();
    const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(ctx.get('Authorization'));
    if (!match?.[1]) {
      ctx.set('WWW-Authenticate', 'Bearer realm="spore-registry"');
      throw new RegistryError('UNAUTHORIZED', 'writing needs a token: send "Authorization: Bearer <token>"');
    }
    const presented = fingerprint(match[1]);
    // Check every token, so the time taken does not tell which one matched.
    let ok = false;
    for (const token of allowed) ok = timingSafeEqual(token, presented) || ok;
    if (!ok) throw new RegistryError('FORBIDDEN', 'this token may not write to the registry');
    return next();
  };
}

function fingerprint(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}
