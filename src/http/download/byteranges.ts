import { randomBytes } from 'node:crypto';
import type { ByteRange } from './range.js';

/**
 * The framing of a `multipart/byteranges` body (RFC 9110 §14.6), computed up front so the
 * answer has an exact Content-Length. Each part is a delimiter, its own Content-Type and
 * Content-Range, a blank line, then the bytes; the body ends with the close delimiter:
 *
 *   \r\n--<boundary>\r\nContent-Type: …\r\nContent-Range: bytes a-b/size\r\n\r\n<bytes>
 *   …
 *   \r\n--<boundary>--\r\n
 */
export interface ByteRangesBody {
  /** `multipart/byteranges; boundary=<boundary>`. */
  contentType: string;
  contentLength: number;
  parts: { head: Buffer; range: ByteRange }[];
  tail: Buffer;
}

/** A boundary of lower-case hex: a token, so it is never quoted (some OTA clients need that). */
export function newBoundary(): string {
  return randomBytes(12).toString('hex');
}

export function byteRangesBody(ranges: ByteRange[], size: number, partType: string, boundary = newBoundary()): ByteRangesBody {
  const parts = ranges.map((range) => ({
    head: Buffer.from(`\r\n--${boundary}\r\nContent-Type: ${partType}\r\nContent-Range: bytes ${range.start}-${range.end}/${size}\r\n\r\n`),
    range,
  }));
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  const contentLength = parts.reduce((total, part) => total + part.head.length + part.range.end - part.range.start + 1, tail.length);
  return { contentType: `multipart/byteranges; boundary=${boundary}`, contentLength, parts, tail };
}
