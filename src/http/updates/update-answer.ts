import { createHash } from 'node:crypto';
import type { FirmwareRecord } from '../../firmware/firmware-record.js';
import { listMatches, parseEntityTagList, weakMatch } from '../download/entity-tag.js';
import { recordJson } from '../record-json.js';
import { firmwareUrl } from '../routes/lifecycle.js';

/**
 * One answer to `GET /updates/:name?current=…` (SPEC §3), complete down to its bytes: the
 * record and its URL as JSON with an ETag of its own (200), or "you are current" (204).
 * Computed once per registry change and sent as is, by koa's route and by the fast path alike.
 */
export type UpdateAnswer =
  | {
      status: 200;
      /** Strong, a digest of the body: it changes exactly when the body does (RFC 9110 §8.8.3). */
      etag: string;
      body: Buffer;
      /** Of a 200, in the order koa sends them: Cache-Control, ETag, Content-Type, Content-Length. */
      headers: Record<string, string>;
      /** Of a 304: the fields a 200 would carry that describe the cache (RFC 9110 §15.4.5). */
      notModified: Record<string, string>;
    }
  | { status: 204; headers: Record<string, string> };

/** Devices poll: they must ask again every time, and get a 304 while nothing changed. */
const CACHE_CONTROL = 'no-cache';
const JSON_TYPE = 'application/json; charset=utf-8';

export function updateAnswer(update: FirmwareRecord | undefined, baseUrl: string): UpdateAnswer {
  if (!update) return { status: 204, headers: { 'Cache-Control': CACHE_CONTROL } };
  const body = Buffer.from(JSON.stringify({ ...recordJson(update), url: firmwareUrl(baseUrl, update.name, update.version) }));
  const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`;
  return {
    status: 200,
    etag,
    body,
    headers: { 'Cache-Control': CACHE_CONTROL, ETag: etag, 'Content-Type': JSON_TYPE, 'Content-Length': String(body.length) },
    notModified: { 'Cache-Control': CACHE_CONTROL, ETag: etag },
  };
}

/**
 * Whether If-None-Match names `etag` (RFC 9110 §13.1.2: weak comparison; `*` matches any
 * answer there is). A device sends back exactly the tag it got: that is one string compare.
 */
export function noneMatch(ifNoneMatch: string | undefined, etag: string): boolean {
  if (!ifNoneMatch) return false;
  return ifNoneMatch === etag || listMatches(parseEntityTagList(ifNoneMatch), { weak: false, opaque: etag }, weakMatch);
}
