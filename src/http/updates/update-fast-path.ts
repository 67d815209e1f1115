import type { IncomingMessage, ServerResponse } from 'node:http';
import { observeRequest, type Observer } from '../access-log.js';
import { noneMatch } from './update-answer.js';
import type { UpdateAnswers } from './update-answers.js';

const ROUTE = '/updates/:name';
const OUTCOME = () => ({ route: ROUTE });

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

    observeRequest(observer, req, res, OUTCOME);
    for (const [name, value] of remembered.preceding) res.setHeader(name, value);
    const { answer } = remembered;
    if (answer.status === 204) res.writeHead(204, answer.headers).end();
    else if (noneMatch(req.headers['if-none-match'], answer.etag)) res.writeHead(304, answer.notModified).end();
    // A HEAD answer has the headers of the GET, Content-Length included, and no body.
    else res.writeHead(200, answer.headers).end(method === 'GET' ? answer.body : undefined);
    return true;
  };
}
