import type { IncomingMessage } from 'node:http';
import { RegistryError } from '../errors.js';

export interface MinimumRate {
  /** Bytes a second; 0: no minimum. */
  bytesPerSecond: number;
  windowMs: number;
}

/**
 * Rejects with UPLOAD_TOO_SLOW when less than `bytesPerSecond` of the body arrives over a whole
 * window; never resolves. An idle timeout alone lets a client hold an upload slot forever by
 * sending a byte now and then (16 sockets, a byte every 59 s, locked every publisher out);
 * a rate over a window does not, while a client that is merely slow for a moment keeps going.
 *
 * A window is not held against the client when the slowness was the registry's own:
 *   - the body was paused (back-pressure from the parser or the disk) at some point in it;
 *   - the check ran late (the event loop was blocked), so the window is not what was measured.
 * The clock stops when the body is complete or the request is gone.
 */
export function whenTooSlow(req: IncomingMessage, { bytesPerSecond, windowMs }: MinimumRate): Promise<never> {
  return new Promise((_resolve, reject) => {
    if (bytesPerSecond === 0) return;
    let received = 0;
    let paused = false;
    let windowStart = performance.now();
    const count = (chunk: Buffer) => (received += chunk.length);
    const onPause = () => (paused = true);
    const timer = setInterval(() => {
      const now = performance.now();
      const elapsed = now - windowStart;
      const needed = (bytesPerSecond * elapsed) / 1000;
      if (!paused && elapsed < windowMs * 1.5 && received < needed) {
        stop();
        reject(
          new RegistryError('UPLOAD_TOO_SLOW', `the upload sent ${received} bytes in ${(elapsed / 1000).toFixed(1)} s; at least ${bytesPerSecond} bytes a second are expected (MIN_UPLOAD_RATE)`, {
            minBytesPerSecond: bytesPerSecond,
            windowSeconds: windowMs / 1000,
            received,
          }),
        );
        return;
      }
      received = 0;
      paused = req.isPaused();
      windowStart = now;
    }, windowMs);
    timer.unref();
    const stop = () => {
      clearInterval(timer);
      req.off('data', count);
      req.off('pause', onPause);
    };
    // The parser is already piped: this listener only counts what it reads.
    req.on('data', count);
    req.on('pause', onPause);
    req.once('end', stop);
    req.once('close', stop);
  });
}
