import type { Socket } from 'node:net';

export interface LingerLimits {
  /** Longest time spent reading and discarding after the answer (nginx: lingering_time 30 s). */
  totalMs: number;
  /** Longest wait for the next bytes (nginx: lingering_timeout 5 s). */
  idleMs: number;
  /** Most bytes read and discarded. */
  bytes: number;
}

export const LINGER_LIMITS: LingerLimits = { totalMs: 30_000, idleMs: 5_000, bytes: 64 * 1024 * 1024 };

/**
 * The close of a connection whose request was refused while its body was still arriving
 * (RFC 9112 §9.6; nginx's lingering close). Closing at once, with unread bytes in the socket
 * or more on the way, makes the kernel send a reset, and a reset makes the client drop the
 * answer it has not read yet: Node's fetch saw EPIPE instead of a 401 for about every
 * second refused upload, and nginx in front answered 502. So, once the answer (with
 * `Connection: close`) is out:
 *   1. end the sending side (FIN): the client sees the answer end and stops sending;
 *   2. keep reading, and discarding, what still arrives (Node's parser drops the body of a
 *      request nobody reads);
 *   3. close when the client closes its side, or when a limit is reached: total time, time
 *      without a byte, bytes read.
 */
export class LingeringClose {
  readonly #sockets = new Set<Socket>();

  constructor(private readonly limits: LingerLimits = LINGER_LIMITS) {}

  /** Sockets lingering now. */
  get count(): number {
    return this.#sockets.size;
  }

  /**
   * Makes `socket` linger instead of closing when Node closes it after the current answer.
   * Node's server closes a connection whose answer says `Connection: close` with
   * `destroySoon()` (end, then destroy once written); that step becomes the lingering close.
   */
  afterAnswer(socket: Socket): void {
    socket.destroySoon = () => this.#linger(socket);
  }

  /** Closes every lingering socket (shutdown: they would only hold it up). */
  closeAll(): void {
    for (const socket of this.#sockets) socket.destroy();
  }

  #linger(socket: Socket): void {
    if (socket.destroyed) return;
    socket.end();
    this.#sockets.add(socket);
    const { totalMs, idleMs, bytes } = this.limits;
    const started = Date.now();
    const firstByte = socket.bytesRead;
    let lastBytes = firstByte;
    let lastMoved = started;
    // Polled rather than counted per chunk: the HTTP parser reads the socket directly, so its
    // 'data' events do not fire, but its byte count moves.
    const check = setInterval(() => {
      const now = Date.now();
      if (socket.bytesRead !== lastBytes) {
        lastBytes = socket.bytesRead;
        lastMoved = now;
      }
      if (now - started >= totalMs || now - lastMoved >= idleMs || lastBytes - firstByte >= bytes) socket.destroy();
    }, Math.max(10, Math.min(250, idleMs / 4)));
    check.unref();
    socket.once('close', () => {
      clearInterval(check);
      this.#sockets.delete(socket);
    });
  }
}
