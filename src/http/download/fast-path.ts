import type { IncomingMessage, ServerResponse } from 'node:http';
import { isDigest } from '../../digest.js';
import { isValidName, isValidVersion } from '../../firmware/identifiers.js';
import { observeRequest, type Observer } from '../access-log.js';
import { asRegistryError, sendError } from '../error-response.js';
import type { Downloads } from './downloads.js';
import type { Representation } from './representation.js';

/**
 * Devices poll and resume downloads at rates where koa's per-request work (context, router,
 * middleware chain) is the bottleneck: a 304 through koa runs at about half the rate of plain
 * node:http. So a GET or HEAD of a firmware or blob URL that names something published is
 * answered here, before koa, by the same `Downloads` the koa routes use. Everything else —
 * other methods (405), names that cannot exist (400), unknown versions (404), unpublished
 * blobs — falls through to koa, which stays the one place for routing and errors.
 *
 * Returns whether it took the request.
 */
export function downloadFastPath(downloads: Downloads, observer: Observer, options: { cors: boolean }): (req: IncomingMessage, res: ServerResponse) => boolean {
  const { log } = observer;
  return (req, res) => {
    const method = req.method;
    if (method !== 'GET' && method !== 'HEAD') return false;
    // Cross-origin requests get their CORS headers from koa's middleware.
    if (options.cors && req.headers.origin !== undefined) return false;
    const url = req.url ?? '';
    const query = url.indexOf('?');
    const path = query === -1 ? url : url.slice(0, query);
    const representation = downloads.forPath(path, () => lookup(downloads, path));
    if (!representation) return false;

    let errorCode: string | undefined;
    res.setHeader('X-Request-Id', observeRequest(observer, req, res, () => ({ route: representation.route, code: errorCode })));
    // With CORS on, an answer to a request with an Origin (koa's) carries CORS headers and this
    // one does not: a shared cache must not hand this copy to a browser (RFC 9110 §12.5.5),
    // least of all on digest URLs, cached as immutable for a year. writeHead keeps it.
    if (options.cors) res.setHeader('Vary', 'Origin');
    downloads.send(method, req.headers, res, representation).catch((caught: unknown) => {
      const error = asRegistryError(caught, log, { method, path });
      errorCode = error.code;
      if (res.headersSent) return void res.destroy();
      const contentRange = error.details.contentRange;
      sendError(res, error, typeof contentRange === 'string' ? { 'Content-Range': contentRange } : {});
    });
    return true;
  };
}

/** `/firmware/<name>/<version>` or `/blobs/sha256/<hex>`, decoded once, published; else undefined. */
function lookup(downloads: Downloads, path: string): Representation | undefined {
  const segments = path.split('/');
  if (segments.length !== 4 || segments[0] !== '') return undefined;
  const [, first, second, third] = segments.map(decode);
  if (first === 'firmware' && second !== undefined && third !== undefined) {
    return isValidName(second) && isValidVersion(third) ? downloads.version(second, third) : undefined;
  }
  if (first === 'blobs' && second === 'sha256' && third !== undefined) {
    const digest = `sha256:${third}`;
    return isDigest(digest) ? downloads.publishedBlob(digest) : undefined;
  }
  return undefined;
}

function decode(segment: string): string | undefined {
  if (!segment.includes('%')) return segment;
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}
