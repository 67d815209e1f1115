import { fdatasync, type WriteStream } from 'node:fs';

/**
 * Starts writing a file's pages to disk while it is still being written: an `fdatasync` every
 * `step` bytes, in the background, one at a time. The kernel would otherwise keep a whole
 * upload dirty in memory until the final fsync, which then waits for all of it (270 ms for
 * 256 MiB here); with this, the final fsync finds only the tail left, and the upload's time is
 * the network's, not the network's plus the disk's.
 *
 * It only makes durability earlier: the final fsync is still what makes the file durable.
 */
export class BackgroundFlush {
  #sinceFlush = 0;
  #inFlight: Promise<void> | undefined;

  constructor(
    private readonly file: WriteStream,
    private readonly step = 16 * 1024 * 1024,
  ) {}

  /** Counts bytes handed to the file; flushes when a step's worth has built up. */
  wrote(bytes: number): void {
    this.#sinceFlush += bytes;
    const { fd } = this.file as WriteStream & { fd: number | null };
    if (this.#sinceFlush < this.step || this.#inFlight || typeof fd !== 'number') return;
    this.#sinceFlush = 0;
    this.#inFlight = new Promise((resolve) =>
      fdatasync(fd, () => {
        this.#inFlight = undefined;
        resolve();
      }),
    );
  }

  /** Waits for a flush in flight: the descriptor must not be closed under it. */
  async settle(): Promise<void> {
    await this.#inFlight;
  }
}
