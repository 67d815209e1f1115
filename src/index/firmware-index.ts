import fs from 'node:fs/promises';
import path from 'node:path';
import type { Database, SqlValue } from 'sql.js';
import type { Digest } from '../cas/digest.js';
import type { Labels } from '../firmware/labels.js';
import { loadOwnedIndex, loadSnapshot } from './index-file.js';
import { acquireLock } from './lock-file.js';
import { isPrerelease, precedenceKey } from './precedence.js';
import { SnapshotWriter } from './snapshot-writer.js';

/** One published version, as the index keeps it. */
export interface FirmwareRecord {
  name: string;
  version: string;
  size: number;
  digest: Digest;
  labels: Labels;
  /** ISO-8601 UTC, milliseconds. */
  createdAt: string;
}

export interface ListFilter {
  name?: string;
  version?: string;
  /** Every pair must be among the labels (AND). */
  labels?: [key: string, value: string][];
  /** Leave out pre-release versions. */
  releasesOnly?: boolean;
}

export interface IndexStats {
  versions: number;
  distinctDigests: number;
  /** Sum of every version's size: what the store would hold without deduplication. */
  logicalBytes: number;
  /** Sum of the sizes of the distinct digests: what it holds for them. */
  storedBytes: number;
}

const COLUMNS = 'name, version, size, digest, labels, created_at';

/**
 * The index of published firmware: rows in an in-memory SQLite database (sql.js), persisted
 * as whole snapshots to one file. It knows rows only: never paths of blobs, never bytes.
 *
 * Changes are made in memory and are not durable until `persist()` resolves; callers persist
 * before they acknowledge anything.
 */
export class FirmwareIndex {
  readonly #writer: SnapshotWriter;
  #closed = false;

  private constructor(
    private readonly db: Database,
    readonly file: string,
    private readonly releaseLock: () => Promise<void>,
  ) {
    this.#writer = new SnapshotWriter(file, () => db.export());
  }

  /**
   * Opens (or creates) the index at `file`: takes its lock, removes temp files a crashed
   * writer left, loads the last snapshot, and migrates it. Rejects with INDEX_LOCKED when
   * another registry holds it, INDEX_UNREADABLE when the file is not a usable index.
   */
  static async open(file: string): Promise<FirmwareIndex> {
    const absolute = path.resolve(file);
    await fs.mkdir(path.dirname(absolute), { recursive: true });
    const release = await acquireLock(absolute);
    try {
      const { db, unsaved } = await loadOwnedIndex(absolute);
      const index = new FirmwareIndex(db, absolute, release);
      if (unsaved) await index.persist();
      return index;
    } catch (error) {
      await release();
      throw error;
    }
  }

  /**
   * Every record in the last snapshot written to `file`, read without taking the lock: for
   * checks that must not stop a running registry (fsck). The snapshot may be a moment behind
   * the registry's memory, never ahead of what it acknowledged.
   */
  static async readSnapshot(file: string): Promise<FirmwareRecord[]> {
    const db = await loadSnapshot(path.resolve(file));
    try {
      return new FirmwareIndex(db, file, async () => {}).list();
    } finally {
      db.close();
    }
  }

  /** Resolves once every change made before this call is on disk. */
  persist(): Promise<void> {
    return this.#writer.persist();
  }

  /** Tells `listener` how long each snapshot write takes, in seconds. */
  observePersist(listener: (seconds: number) => void): void {
    this.#writer.onWrite = listener;
  }

  /** How many snapshots were written since open. */
  get snapshotsWritten(): number {
    return this.#writer.writes;
  }

  insert(record: FirmwareRecord): void {
    this.#transaction(() => {
      this.db.run(`INSERT INTO firmware (${COLUMNS}, precedence, prerelease) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, [
        record.name,
        record.version,
        record.size,
        record.digest,
        JSON.stringify(record.labels),
        record.createdAt,
        precedenceKey(record.version),
        isPrerelease(record.version) ? 1 : 0,
      ]);
      this.#indexLabels(Number(this.db.exec('SELECT last_insert_rowid()')[0]?.values[0]?.[0]), record.labels);
    });
  }

  /** Replaces a row's labels; `false` when there is no such row. */
  relabel(name: string, version: string, labels: Labels): boolean {
    const id = this.#idOf(name, version);
    if (id === undefined) return false;
    this.#transaction(() => {
      this.db.run('UPDATE firmware SET labels = ? WHERE id = ?', [JSON.stringify(labels), id]);
      this.db.run('DELETE FROM firmware_labels WHERE firmware_id = ?', [id]);
      this.#indexLabels(id, labels);
    });
    return true;
  }

  /** Removes a row; `false` when there was none. */
  remove(name: string, version: string): boolean {
    const id = this.#idOf(name, version);
    if (id === undefined) return false;
    this.#transaction(() => {
      this.db.run('DELETE FROM firmware_labels WHERE firmware_id = ?', [id]);
      this.db.run('DELETE FROM firmware WHERE id = ?', [id]);
    });
    return true;
  }

  find(name: string, version: string): FirmwareRecord | undefined {
    return this.#select(`SELECT ${COLUMNS} FROM firmware WHERE name = ? AND version = ?`, [name, version])[0];
  }

  /** Sorted by name, then SemVer precedence highest first, then newest first; at most `limit`. */
  list(filter: ListFilter = {}, limit?: number): FirmwareRecord[] {
    const where: string[] = [];
    const params: SqlValue[] = [];
    if (filter.name !== undefined) {
      where.push('name = ?');
      params.push(filter.name);
    }
    if (filter.version !== undefined) {
      where.push('version = ?');
      params.push(filter.version);
    }
    if (filter.releasesOnly) where.push('prerelease = 0');
    for (const [key, value] of filter.labels ?? []) {
      // Answered from the (key, value, firmware_id) key of firmware_labels, not by reading JSON:
      // with a name, the name's versions are few, and each is checked with one lookup; without,
      // the label's rows are the few, and they drive.
      where.push(
        filter.name !== undefined
          ? 'EXISTS (SELECT 1 FROM firmware_labels WHERE firmware_id = firmware.id AND key = ? AND value = ?)'
          : 'id IN (SELECT firmware_id FROM firmware_labels WHERE key = ? AND value = ?)',
      );
      params.push(key, value);
    }
    const clause = where.length > 0 ? `WHERE ${where.join(' AND ')}` : '';
    const limitClause = limit === undefined ? '' : `LIMIT ${Math.max(0, Math.floor(limit))}`;
    return this.#select(`SELECT ${COLUMNS} FROM firmware ${clause} ORDER BY name, precedence DESC, created_at DESC, id DESC ${limitClause}`, params);
  }

  /**
   * The label query `list` makes, answered by reading every row's JSON labels instead of the
   * labels table: only for the benchmark that shows what the table buys.
   */
  scanByJsonLabels(labels: [string, string][]): FirmwareRecord[] {
    const where = labels.map(() => 'json_extract(labels, ?) = ?').join(' AND ');
    const params = labels.flatMap(([key, value]) => [`$."${key}"`, value]);
    return this.#select(`SELECT ${COLUMNS} FROM firmware NOT INDEXED WHERE ${where} ORDER BY name, precedence DESC, created_at DESC, id DESC`, params);
  }

  /** Size and first publish time of a digest, when any version points at it. */
  firstPublished(digest: Digest): { size: number; createdAt: string } | undefined {
    const row = this.db.exec('SELECT size, min(created_at) FROM firmware WHERE digest = ? GROUP BY digest', [digest])[0]?.values[0];
    return row ? { size: Number(row[0]), createdAt: String(row[1]) } : undefined;
  }

  /** How many versions point at a digest. */
  references(digest: Digest): number {
    return Number(this.db.exec('SELECT count(*) FROM firmware WHERE digest = ?', [digest])[0]?.values[0]?.[0] ?? 0);
  }

  stats(): IndexStats {
    const [versions = 0, logicalBytes = 0] = this.db.exec('SELECT count(*), coalesce(sum(size), 0) FROM firmware')[0]?.values[0] ?? [];
    const [distinctDigests = 0, storedBytes = 0] =
      this.db.exec('SELECT count(*), coalesce(sum(size), 0) FROM (SELECT DISTINCT digest, size FROM firmware)')[0]?.values[0] ?? [];
    return { versions: Number(versions), distinctDigests: Number(distinctDigests), logicalBytes: Number(logicalBytes), storedBytes: Number(storedBytes) };
  }

  /** Just the number of versions: cheap enough for every health check. */
  count(): number {
    return Number(this.db.exec('SELECT count(*) FROM firmware')[0]?.values[0]?.[0] ?? 0);
  }

  /** Waits for the last write, then frees the database and releases the lock. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#writer.idle();
    this.db.close();
    await this.releaseLock();
  }

  #idOf(name: string, version: string): number | undefined {
    const id = this.db.exec('SELECT id FROM firmware WHERE name = ? AND version = ?', [name, version])[0]?.values[0]?.[0];
    return id === undefined || id === null ? undefined : Number(id);
  }

  #indexLabels(id: number, labels: Labels): void {
    for (const [key, value] of Object.entries(labels)) {
      this.db.run('INSERT INTO firmware_labels (firmware_id, key, value) VALUES (?, ?, ?)', [id, key, value]);
    }
  }

  /**
   * All or nothing: a row and its labels change together. Savepoints nest, so a caller may
   * group many changes in one (`transaction`), which is also much faster in SQLite.
   */
  #transaction<T>(change: () => T): T {
    this.db.exec('SAVEPOINT change');
    try {
      const result = change();
      this.db.exec('RELEASE change');
      return result;
    } catch (error) {
      this.db.exec('ROLLBACK TO change');
      this.db.exec('RELEASE change');
      throw error;
    }
  }

  /** Runs several changes as one: all of them, or none. */
  transaction<T>(changes: () => T): T {
    return this.#transaction(changes);
  }

  #select(sql: string, params: SqlValue[]): FirmwareRecord[] {
    // Prepared per call: sql.js frees every prepared statement when it exports a snapshot.
    const statement = this.db.prepare(sql, params);
    const records: FirmwareRecord[] = [];
    try {
      while (statement.step()) {
        const [name, version, size, digest, labels, createdAt] = statement.get();
        records.push({
          name: String(name),
          version: String(version),
          size: Number(size),
          digest: String(digest) as Digest,
          labels: JSON.parse(String(labels)) as Labels,
          createdAt: String(createdAt),
        });
      }
    } finally {
      statement.free();
    }
    return records;
  }
}
