import { read } from 'node:fs';
import { Readable } from 'node:stream';

/**
 * Streams bytes `start`..`end` (inclusive) of an open descriptor with positional reads
 * (`pread`), so any number of streams can share one descriptor. Unlike fs.ReadStream it never
 * closes the descriptor, even when destroyed: the descriptor belongs to whoever lent it, and
 * `close` is emitted only after the last read on it has returned.
 *
 * A file that ends before `end` ends the stream early; the caller compares lengths.
 */
export class PositionalReadStream extends Readable {
  #position: number;
  #reading = false;
  #afterRead: (() => void) | undefined;

  constructor(
    private readonly fd: number,
    start: number,
    private readonly end: number,
    private readonly chunkSize: number,
  ) {
    super({ highWaterMark: chunkSize });
    this.#position = start;
  }

  override _read(): void {
    const remaining = this.end - this.#position + 1;
    if (remaining <= 0) {
      this.push(null);
      return;
    }
    const buffer = Buffer.allocUnsafe(Math.min(this.chunkSize, remaining));
    this.#reading = true;
    read(this.fd, buffer, 0, buffer.length, this.#position, (error, bytesRead) => {
      this.#reading = false;
      if (this.#afterRead) return this.#afterRead();
      if (error) return void this.destroy(error);
      this.#position += bytesRead;
      this.push(bytesRead === 0 ? null : buffer.subarray(0, bytesRead));
    });
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (!this.#reading) return callback(error);
    this.#afterRead = () => callback(error);
  }
}
