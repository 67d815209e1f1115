import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * `Expect: 100-continue` (RFC 9110 §10.1.1): the client waits for `100 Continue` before it
 * sends the body, so that a request refused on its headers costs no body. Node, left alone,
 * sends the 100 before any handler has looked at the request; the registry sends it only
 * when a handler starts reading the body. Every refusal decided from headers alone (401,
 * 403, 413 by Content-Length, 415, 503, 404, 405) is answered first, and the body never
 * comes. Install from the server's 'checkContinue' event, before the request is handled.
 */
export function continueWhenRead(req: IncomingMessage, res: ServerResponse): void {
  // Reading the body means listening for 'data' (also what pipe() does) or 'readable' (read(),
  // async iteration); a request only drained after its answer (Node's dump) gets no 100.
  const onListener = (event: string | symbol) => {
    if (event !== 'data' && event !== 'readable') return;
    req.off('newListener', onListener);
    if (!res.headersSent && !res.writableEnded) res.writeContinue();
  };
  req.on('newListener', onListener);
}
