/**
 * Reusable chunk buffers for sending bodies. A download reads into a buffer, hands it to the
 * socket, and gets it back when the socket is done with it; without this, every chunk of every
 * download is a fresh allocation of up to 1 MiB, and the garbage collector (which counts
 * those as external memory) runs full collections many times a second under load.
 *
 * Idle buffers are kept up to `maxIdleBytes`; beyond that, returned buffers are dropped.
 */
export class BufferPool {
  readonly #idle = new Map<number, Buffer[]>();
  #idleBytes = 0;

  constructor(private readonly maxIdleBytes = 8 * 1024 * 1024) {}

  /** A buffer of at least `length` bytes: sizes are powers of two from 4 KiB, so few are kept. */
  take(length: number): Buffer {
    let size = 4096;
    while (size < length) size *= 2;
    const buffer = this.#idle.get(size)?.pop();
    if (!buffer) return Buffer.allocUnsafeSlow(size);
    this.#idleBytes -= size;
    return buffer;
  }

  give(buffer: Buffer): void {
    if (this.#idleBytes + buffer.length > this.maxIdleBytes) return;
    let list = this.#idle.get(buffer.length);
    if (!list) this.#idle.set(buffer.length, (list = []));
    list.push(buffer);
    this.#idleBytes += buffer.length;
  }
}
