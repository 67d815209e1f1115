import { digestHex, type Digest } from '../../digest.js';
import type { Validators } from './conditionals.js';
import { formatHttpDate } from './http-date.js';

/**
 * Everything an answer about one downloadable thing needs, computed once per thing rather
 * than once per request: the validators and the headers every 200/206/304 carries
 * (SPEC §4). Nothing here reads the file: conditionals are answered from what the index knows.
 */
export interface Representation {
  /** The route template that serves it (for logs and metrics). */
  route: string;
  digest: Digest;
  size: number;
  validators: Validators;
  /** ETag, Last-Modified, Cache-Control, Accept-Ranges, Repr-Digest. */
  common: Record<string, string>;
  /** Content-Type and, on version URLs, Content-Disposition: for 200 and single-range 206. */
  content: Record<string, string>;
  /**
   * Every header of a full 200: common, content, Content-Length, and Content-Digest, which for
   * a whole body without content coding equals Repr-Digest (RFC 9530 §2, §3).
   */
  full: Record<string, string>;
  /** common + content: the base of a single-range 206. */
  partial: Record<string, string>;
  /** common + content without Content-Type: the base of a multipart 206. */
  multipart: Record<string, string>;
}

export const OCTET_STREAM = 'application/octet-stream';

/** `GET /firmware/:name/:version`: revalidate every time (`no-cache`), the version may be deleted. */
export function versionRepresentation(record: { name: string; version: string; digest: Digest; size: number; createdAt: string }): Representation {
  return representation('/firmware/:name/:version', record.digest, record.size, record.createdAt, 'no-cache', {
    'Content-Type': OCTET_STREAM,
    'Content-Disposition': attachment(`${record.name}-${record.version}.bin`),
  });
}

/** `GET /blobs/sha256/:hex`: the bytes of a digest never change, so caches may keep them for a year. */
export function blobRepresentation(blob: { digest: Digest; size: number; since: string }): Representation {
  return representation('/blobs/sha256/:hex', blob.digest, blob.size, blob.since, 'public, max-age=31536000, immutable', { 'Content-Type': OCTET_STREAM });
}

function representation(
  route: string,
  digest: Digest,
  size: number,
  since: string,
  cacheControl: string,
  content: Record<string, string>,
): Representation {
  const lastModified = Math.floor(Date.parse(since) / 1000);
  const etag = etagOf(digest);
  const digestField = reprDigest(digest);
  const common = {
    ETag: etag,
    'Last-Modified': formatHttpDate(lastModified),
    'Cache-Control': cacheControl,
    'Accept-Ranges': 'bytes',
    'Repr-Digest': digestField,
  };
  return {
    route,
    digest,
    size,
    validators: { etag: { weak: false, opaque: etag }, lastModified },
    common,
    content,
    full: { ...common, ...content, 'Content-Length': String(size), 'Content-Digest': digestField },
    partial: { ...common, ...content },
    multipart: Object.fromEntries(Object.entries({ ...common, ...content }).filter(([name]) => name !== 'Content-Type')),
  };
}

/** RFC 9110 §8.8.3: a strong validator. The digest names the bytes exactly, so it is one. */
export function etagOf(digest: Digest): string {
  return `"${digest}"`;
}

/** RFC 9530 §2, §3: `sha-256=:<base64 of the raw digest>:`, a Structured Fields byte sequence. */
export function reprDigest(digest: Digest): string {
  return `sha-256=:${Buffer.from(digestHex(digest), 'hex').toString('base64')}:`;
}

/** RFC 6266 §4: names and versions hold only token characters, so quoting is enough. */
export function attachment(filename: string): string {
  return `attachment; filename="${filename}"`;
}
