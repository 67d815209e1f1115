import type { Database } from 'sql.js';
import type { IndexChange } from './index-change.js';

/**
 * What `/stats`, `/health` and the metrics report, kept up to date as changes apply instead of
 * counted by SQL on every call: at a million versions the counting queries take a tenth of a
 * second or more, on the thread that answers requests.
 */
export class IndexTotals {
  versions = 0;
  /** Sum of every version's size: what the store would hold without deduplication. */
  logicalBytes = 0;
  distinctDigests = 0;
  /** Sum of the sizes of the distinct digests: what the store holds for them. */
  storedBytes = 0;

  /** Counts once, when the index opens. */
  constructor(private readonly db: Database) {
    const [versions = 0, logicalBytes = 0] = db.exec('SELECT count(*), coalesce(sum(size), 0) FROM firmware')[0]?.values[0] ?? [];
    const [distinct = 0, storedBytes = 0] = db.exec('SELECT count(*), coalesce(sum(size), 0) FROM (SELECT DISTINCT digest, size FROM firmware)')[0]?.values[0] ?? [];
    this.versions = Number(versions);
    this.logicalBytes = Number(logicalBytes);
    this.distinctDigests = Number(distinct);
    this.storedBytes = Number(storedBytes);
  }

  /** Called just before `change` is applied: returns what to count once it is. */
  before(change: IndexChange): () => void {
    if (change.op === 'insert') {
      const { size, digest } = change.record;
      return () => {
        this.versions++;
        this.logicalBytes += size;
        if (this.#references(digest) === 1) {
          this.distinctDigests++;
          this.storedBytes += size;
        }
      };
    }
    if (change.op === 'remove') {
      const row = this.db.exec('SELECT size, digest FROM firmware WHERE name = ? AND version = ?', [change.name, change.version])[0]?.values[0];
      if (!row) return () => {};
      const [size, digest] = [Number(row[0]), String(row[1])];
      return () => {
        this.versions--;
        this.logicalBytes -= size;
        if (this.#references(digest) === 0) {
          this.distinctDigests--;
          this.storedBytes -= size;
        }
      };
    }
    return () => {};
  }

  #references(digest: string): number {
    return Number(this.db.exec('SELECT count(*) FROM firmware WHERE digest = ?', [digest])[0]?.values[0]?.[0] ?? 0);
  }
}
