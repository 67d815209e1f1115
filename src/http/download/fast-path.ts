import type { IncomingMessage, ServerResponse } from 'node:http';
import { observeRequest, type Observer } from '../access-log.js';
import { asRegistryError, sendError } from '../error-response.js';
import type { Downloads } from './downloads.js';

/**
 * Devices poll and resume downloads at rates where koa's per-request work (context, router,
 * middleware chain) is the bottleneck: a 304 through koa runs at about half the rate of plain
 * node:http. So a GET or HEAD of a firmware or blob URL that koa's routes answered before,
 * for something published, while nothing changed since (`Downloads.atPath`), is answered here,
 * before koa, by the same `Downloads`. Everything else — a first request, other methods
 * (405), names that cannot exist (400), unknown versions (404), unpublished blobs — goes to
 * koa, which stays the one place for routing and errors (and the index is asynchronous: koa
 * asks it).
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
    const representation = downloads.atPath(path);
    if (!representation) return false;

    let errorCode: string | undefined;
    const requestId = observeRequest(observer, req, res, () => ({ route: representation.route, code: errorCode }));
    // With CORS on, an answer to a request with an Origin (koa's) carries CORS headers and this
    // one does not: a shared cache must not hand this copy to a browser (RFC 9110 §12.5.5),
    // least of all on digest URLs, cached as immutable for a year.
    const extra = options.cors ? ['X-Request-Id', requestId, 'Vary', 'Origin'] : ['X-Request-Id', requestId];
    downloads.send(method, req.headers, res, representation, extra).catch((caught: unknown) => {
      const error = asRegistryError(caught, log, { method, path });
      errorCode = error.code;
      if (res.headersSent) return void res.destroy();
      const contentRange = error.details.contentRange;
      const fields: Record<string, string> = options.cors ? { 'X-Request-Id': requestId, Vary: 'Origin' } : { 'X-Request-Id': requestId };
      if (typeof contentRange === 'string') fields['Content-Range'] = contentRange;
      sendError(res, error, fields);
    });
    return true;
  };
}
