import type { Database } from 'sql.js';
import { RegistryError } from '../errors.js';
import type { Logger } from '../log.js';
import { applyChange, lastApplied } from './apply-change.js';
import type { BackgroundSnapshots } from './background-snapshot.js';
import { reserveRoom } from './database-room.js';
import type { IndexChange } from './index-change.js';
import type { IndexTotals } from './index-totals.js';
import type { JournalAppender } from './journal-appender.js';
import { encodeEntries } from './journal-codec.js';

interface Pending {
  change: IndexChange;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/**
 * Makes changes durable, then visible, with group commit: changes that arrive while one
 * append is in flight share the next append and its fdatasync. Each round:
 *   1. each change is tried on the database inside a savepoint that is rolled back at once
 *      (synchronously: no reader sees it), and refused alone if it does not fit;
 *   2. the rest are appended to the journal with one fdatasync; if that fails, all of them
 *      are refused and the journal is cut back (see JournalAppender): nothing to undo here;
 *   3. now durable, they are applied to the database, and their callers answered;
 *   4. past the size threshold, the journal starts its next segment and a background
 *      snapshot folds in the closed ones.
 */
export class ChangeCommitter {
  #seq: number;
  #pending: Pending[] = [];
  #draining: Promise<void> | undefined;
  /** Told how long each journal append took, in seconds (metrics). */
  onAppend: (seconds: number) => void = () => {};
  /** Journal appends so far: with group commit, fewer than changes. */
  appends = 0;

  constructor(
    private readonly db: Database,
    private readonly journal: JournalAppender,
    private readonly snapshots: BackgroundSnapshots,
    private readonly options: { snapshotAfterBytes: number; log?: Logger; totals: IndexTotals },
  ) {
    this.#seq = lastApplied(db);
  }

  /** Resolves once `change` is durable and applied; rejects, changing nothing, otherwise. */
  submit(change: IndexChange): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#pending.push({ change, resolve, reject });
      this.#kick();
    });
  }

  /** Resolves when no change is in flight. */
  async idle(): Promise<void> {
    while (this.#draining) await this.#draining;
  }

  #kick(): void {
    if (this.#draining) return;
    this.#draining = this.#drain().finally(() => {
      this.#draining = undefined;
      if (this.#pending.length > 0) this.#kick();
    });
  }

  async #drain(): Promise<void> {
    while (this.#pending.length > 0) {
      const accepted = this.#fitting(this.#pending.splice(0));
      if (accepted.length === 0) continue;
      const first = this.#seq + 1;
      const entries = accepted.map(({ change }, i) => ({ seq: first + i, change }));
      const started = performance.now();
      try {
        await this.journal.append(encodeEntries(entries));
      } catch (error) {
        for (const { reject } of accepted) reject(error);
        continue;
      }
      this.appends++;
      this.onAppend((performance.now() - started) / 1000);
      for (const { seq, change } of entries) {
        const count = this.options.totals.before(change);
        applyChange(this.db, seq, change);
        count();
      }
      this.#seq = first + entries.length - 1;
      for (const { resolve } of accepted) resolve();
      reserveRoom(this.db, this.options.log);
      if (this.journal.size > this.options.snapshotAfterBytes && !this.snapshots.running) {
        try {
          await this.journal.rotate();
          this.snapshots.start(this.journal.segment - 1);
        } catch (error) {
          this.options.log?.error({ err: error }, 'could not start a new journal segment; the current one grows');
        }
      }
    }
  }

  #fitting(batch: Pending[]): Pending[] {
    const accepted: Pending[] = [];
    this.db.exec('SAVEPOINT trial');
    try {
      for (const pending of batch) {
        try {
          applyChange(this.db, this.#seq + accepted.length + 1, pending.change);
          accepted.push(pending);
        } catch (error) {
          pending.reject(refusal(pending.change, error));
        }
      }
    } finally {
      this.db.exec('ROLLBACK TO trial');
      this.db.exec('RELEASE trial');
    }
    return accepted;
  }
}

/** A change that does not fit the index, as the error its caller should see. */
function refusal(change: IndexChange, error: unknown): unknown {
  if (change.op === 'insert' && /UNIQUE/.test(String((error as Error).message))) {
    const { name, version } = change.record;
    return new RegistryError('VERSION_EXISTS', `${name} ${version} is already in the index`, { name, version });
  }
  return error;
}
