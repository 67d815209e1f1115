import type { IncomingMessage, ServerResponse } from 'node:http';
import { answeredOnClose, requestAnswered, sentBodyBytes, startRequest, type Observer } from '../access-log.js';
import { asRegistryError, sendError } from '../error-response.js';
import type { RegistryError } from '../../errors.js';
import type { HeaderList } from '../header-list.js';
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

    const start = startRequest(observer, req);
    const route = representation.route;
    // With CORS on, an answer to a request with an Origin (koa's) carries CORS headers and this
    // one does not: a shared cache must not hand this copy to a browser (RFC 9110 §12.5.5),
    // least of all on digest URLs, cached as immutable for a year.
    const extra = options.cors ? ['X-Request-Id', start.requestId, 'Vary', 'Origin'] : ['X-Request-Id', start.requestId];
    // Logged once the answer is out: at once for most (sent at once), else when the response
    // closes (a body sent, or the client gone).
    try {
      const sent = downloads.send(method, req.headers, res, representation, extra);
      if (typeof sent === 'number') return requestAnswered(observer, req, start, { route, status: sent, bytes: sentBodyBytes(method, res) }), true;
      let code: string | undefined;
      answeredOnClose(observer, req, res, start, () => ({ route, code }));
      sent.catch((caught: unknown) => (code = answerError(res, asRegistryError(caught, log, { method, path }), extra)));
    } catch (caught) {
      const code = answerError(res, asRegistryError(caught, log, { method, path }), extra);
      requestAnswered(observer, req, start, { route, status: res.statusCode, bytes: sentBodyBytes(method, res), code });
    }
    return true;
  };
}

/** An error before the answer went out is answered; after, the connection is cut. Returns its code. */
function answerError(res: ServerResponse, error: RegistryError, extra: HeaderList): string {
  if (res.headersSent) {
    res.destroy();
    return error.code;
  }
  const fields: Record<string, string> = {};
  for (let i = 0; i < extra.length; i += 2) fields[extra[i] as string] = extra[i + 1] as string;
  const contentRange = error.details.contentRange;
  if (typeof contentRange === 'string') fields['Content-Range'] = contentRange;
  sendError(res, error, fields);
  return error.code;
}
