import type { IncomingMessage, ServerResponse } from 'node:http';
import { requestAnswered, startRequest, type Observer } from '../access-log.js';
import { noneMatch } from './update-answer.js';
import type { HeaderList } from '../header-list.js';
import type { UpdateAnswers } from './update-answers.js';

const ROUTE = '/updates/:name';

/**
 * The request devices send most, answered before koa: a GET or HEAD of an update-check URL that
 * koa's route answered since the registry last changed gets the same answer again, byte for
 * byte (its body, ETag and headers were kept), or 304 when If-None-Match names its ETag. It
 * has the same request id, log line and metrics as any request. Everything else — a URL not
 * answered yet or answered before a change, errors, requests with an Origin (their CORS
 * headers are koa's to set) — falls through to koa, the one place for routing and errors.
 *
 * Returns whether it took the request.
 */
export function updateFastPath(answers: UpdateAnswers, observer: Observer): (req: IncomingMessage, res: ServerResponse) => boolean {
  return (req, res) => {
    const method = req.method;
    if (method !== 'GET' && method !== 'HEAD') return false;
    const url = req.url;
    if (url === undefined || !url.startsWith('/updates/') || req.headers.origin !== undefined) return false;
    const remembered = answers.forUrl(url);
    if (!remembered) return false;

    const start = startRequest(observer, req);
    const { answer } = remembered;
    const notModified = answer.status === 200 && remembered.notModified !== undefined && noneMatch(req.headers['if-none-match'], answer.etag);
    // Every header in one writeHead, this request's id in its place: no setHeader before it.
    const headers = (notModified ? (remembered.notModified as HeaderList) : remembered.headers).slice();
    headers[1] = start.requestId;
    let bytes = 0;
    if (notModified) res.writeHead(304, headers).end();
    // A HEAD answer has the headers of the GET, Content-Length included, and no body.
    else if (answer.status === 200 && method === 'GET') {
      res.writeHead(200, headers).end(answer.body);
      bytes = answer.body.length;
    } else res.writeHead(answer.status, headers).end();
    requestAnswered(observer, req, start, { route: ROUTE, status: notModified ? 304 : answer.status, bytes });
    return true;
  };
}
