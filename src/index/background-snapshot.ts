import type { Logger } from '../log.js';
import { compact } from './snapshot-compactor.js';

/**
 * Runs one background snapshot at a time (see snapshot-compactor.ts): folds the closed
 * journal segments into a new snapshot in a child process, and logs how it went. A failed
 * snapshot loses nothing (the journal still holds every change); the next one tries again.
 */
export class BackgroundSnapshots {
  #running: { promise: Promise<void>; abort: AbortController } | undefined;
  /** Awaited before closed segments are folded in (see FirmwareIndex.beforeSnapshot). */
  settled: () => Promise<void> = async () => {};
  /** Snapshots written since open. */
  written = 0;

  constructor(
    private readonly file: string,
    private readonly log: Logger | undefined,
  ) {}

  get running(): boolean {
    return this.#running !== undefined;
  }

  /** Folds segments up to `through` into a new snapshot, unless one is running already. */
  start(through: number): void {
    if (through < 1 || this.#running) return;
    const abort = new AbortController();
    this.log?.info({ through }, 'index snapshot started: folding in the closed journal segments');
    const promise = (async () => {
      try {
        await this.settled();
        if (abort.signal.aborted) return;
        const result = await compact(this.file, through, abort.signal);
        this.written++;
        this.log?.info({ ...result }, 'index snapshot written; journal segments folded in');
      } catch (error) {
        if (abort.signal.aborted) return;
        this.log?.error({ err: error }, 'index snapshot failed; the journal keeps every change, and the next snapshot tries again');
      } finally {
        this.#running = undefined;
      }
    })();
    this.#running = { promise, abort };
  }

  /** Resolves when no snapshot is running. */
  async idle(): Promise<void> {
    await this.#running?.promise;
  }

  /** Stops a running snapshot: killing it is safe at any point (see compact). */
  async stop(): Promise<void> {
    this.#running?.abort.abort();
    await this.idle();
  }
}
