import type { Context } from 'koa';
import { RegistryError } from '../errors.js';

/**
 * Reads a small JSON request body (PATCH): `application/json` only (415 otherwise), at most
 * `limit` bytes (413), a JSON object (400 METADATA_INVALID otherwise).
 */
export async function readJsonObject(ctx: Context, limit = 64 * 1024): Promise<Record<string, unknown>> {
  if (!ctx.is('application/json')) {
    throw new RegistryError('UNSUPPORTED_MEDIA_TYPE', 'send the body as application/json', { contentType: ctx.get('Content-Type') || '(none)' });
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new RegistryError('TOO_LARGE', `the JSON body is larger than ${limit} bytes`, { limit });
    chunks.push(chunk as Buffer);
  }
  let value: unknown;
  try {
    value = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch (error) {
    throw new RegistryError('METADATA_INVALID', `the body is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new RegistryError('METADATA_INVALID', 'the body must be a JSON object');
  }
  return value as Record<string, unknown>;
}
