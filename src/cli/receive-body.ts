import type { FileHandle } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';

/** Bytes waiting for the disk before the connection is paused, and when it resumes. */
const PAUSE_AT = 16 * 1024 * 1024;
const RESUME_AT = 4 * 1024 * 1024;

/**
 * Writes a response body to `file` in order. Resolves with the bytes written and whether the
 * body was whole: when the connection breaks, every byte that arrived is still written, as
 * those are what the next pull resumes from. Rejects only when the file cannot be written. (A pipeline would destroy the file stream and drop
 * what was buffered.) The listener is attached at once, so no byte waits in the response
 * while the file is being opened; the response is paused only when the disk falls far behind.
 */
export function receiveBody(res: IncomingMessage, file: Promise<FileHandle>, onBytes: (written: number) => void): Promise<{ written: number; whole: boolean }> {
  return new Promise((resolve, reject) => {
    let chain: Promise<unknown> = file;
    let queued = 0;
    let written = 0;
    let settled = false;
    const settle = (whole: boolean) => {
      if (settled) return;
      settled = true;
      chain.then(() => resolve({ written, whole }), reject);
    };
    res.on('data', (chunk: Buffer) => {
      queued += chunk.length;
      if (queued > PAUSE_AT) res.pause();
      chain = chain.then(async () => {
        await (await file).write(chunk);
        written += chunk.length;
        queued -= chunk.length;
        onBytes(written);
        if (queued < RESUME_AT) res.resume();
      });
    });
    res.on('end', () => settle(true));
    res.on('error', () => settle(false));
    res.on('close', () => settle(res.complete));
  });
}
