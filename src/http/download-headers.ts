import type { Digest } from '../cas/digest.js';
import { digestHex } from '../cas/digest.js';

/** RFC 9110 §8.8.3: a strong validator. The digest names the bytes exactly, so it is one. */
export function etagOf(digest: Digest): string {
  return `"${digest}"`;
}

/**
 * RFC 9530 §2-3: `sha-256=:<base64 of the raw digest>:`, a Structured Fields byte sequence.
 * The representation is never encoded, so Repr-Digest and Content-Digest of a full body are
 * the same value.
 */
export function digestField(digest: Digest): string {
  return `sha-256=:${Buffer.from(digestHex(digest), 'hex').toString('base64')}:`;
}

/** RFC 9110 §8.8.2, §5.6.7: IMF-fixdate, whole seconds. */
export function httpDate(iso: string): string {
  return new Date(iso).toUTCString();
}

/** RFC 6266 §4: names and versions hold only token-safe characters, so quoting is enough. */
export function attachment(filename: string): string {
  return `attachment; filename="${filename}"`;
}
