import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { fsyncDir } from '../cas/fsync-dir.js';

/**
 * Writes whole-database snapshots atomically, with group commit.
 *
 * A caller that changed the database calls `persist()` and is answered once a snapshot taken
 * after its change is on disk. Snapshots are written one at a time; callers that arrive while
 * one is being written share the next one, so N concurrent publishes cost about two writes,
 * not N. Each write:
 *   1. takes the snapshot (synchronously, so it holds every change made before it),
 *   2. writes it to `<file>.<random>.tmp` and fsyncs it,
 *   3. renames it over `<file>` (atomic: readers see the old or the new file, never a mix),
 *   4. fsyncs the folder, so the rename itself survives a power cut.
 */
export class SnapshotWriter {
  #next: Round | undefined;
  #running: Promise<void> | undefined;
  /** Snapshots written so far: with group commit, far fewer than `persist()` calls. */
  writes = 0;
  /** Told how long each write took, in seconds (metrics). */
  onWrite: (seconds: number) => void = () => {};

  constructor(
    private readonly file: string,
    private readonly snapshot: () => Uint8Array,
  ) {}

  persist(): Promise<void> {
    this.#next ??= new Round();
    const { promise } = this.#next;
    this.#running ??= this.#drain();
    return promise;
  }

  /** Resolves when no write is in flight. */
  async idle(): Promise<void> {
    while (this.#running) await this.#running;
  }

  async #drain(): Promise<void> {
    try {
      for (let round = this.#next; round; round = this.#next) {
        this.#next = undefined;
        try {
          const started = performance.now();
          await writeAtomically(this.file, this.snapshot());
          this.writes++;
          this.onWrite((performance.now() - started) / 1000);
          round.resolve();
        } catch (error) {
          round.reject(error);
        }
      }
    } finally {
      this.#running = undefined;
    }
  }
}

class Round {
  readonly promise: Promise<void>;
  resolve!: () => void;
  reject!: (error: unknown) => void;

  constructor() {
    this.promise = new Promise<void>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
  }
}

/** Whether `name` (in the index's folder) is a temp file `writeAtomically` left for `file`. */
export function isSnapshotTemp(file: string, name: string): boolean {
  const base = `${path.basename(file)}.`;
  return name.startsWith(base) && /^[0-9a-f-]{36}\.tmp$/.test(name.slice(base.length));
}

async function writeAtomically(file: string, bytes: Uint8Array): Promise<void> {
  const temp = `${file}.${randomUUID()}.tmp`;
  try {
    const handle = await fs.open(temp, 'wx', 0o644);
    try {
      await handle.writeFile(bytes);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.rename(temp, file);
  } catch (error) {
    await fs.rm(temp, { force: true });
    throw error;
  }
  await fsyncDir(path.dirname(file));
}
