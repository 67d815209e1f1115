import type { IncomingMessage } from 'node:http';
import { TooLargeError } from '../errors.js';

const reporters = new WeakMap<IncomingMessage, (error: TooLargeError) => void>();

/**
 * Rejects as soon as an upload is known to be too large: more than `bodyLimit` bytes of body
 * arrive (chunked bodies announce no length), or the file part outgrows its limit
 * (`reportTooLarge`). Never resolves otherwise.
 *
 * Multer, left alone, reads a refused body to its end before it reports anything, so that a
 * client sending an endless body would be read forever. Racing the parse against this lets
 * the 413 go out at once, with `Connection: close`: the rest of the body is never read.
 */
export function whenTooLarge(req: IncomingMessage, bodyLimit: number, firmwareLimit: number): Promise<never> {
  return new Promise((_resolve, reject) => {
    let received = 0;
    const count = (chunk: Buffer) => {
      received += chunk.length;
      if (received > bodyLimit) {
        req.off('data', count);
        reject(new TooLargeError(firmwareLimit, 'the request body'));
      }
    };
    // The parser is already piped: this listener only counts what it reads.
    req.on('data', count);
    req.once('end', () => req.off('data', count));
    reporters.set(req, reject);
  });
}

/** Called by the storage engine when the file part passes its limit. */
export function reportTooLarge(req: IncomingMessage, error: TooLargeError): void {
  reporters.get(req)?.(error);
}
