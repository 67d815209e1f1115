import fs from 'node:fs/promises';
import path from 'node:path';
import type { Database, SqlValue } from 'sql.js';
import type { Digest } from '../digest.js';
import { RegistryError } from '../errors.js';
import type { FirmwareRecord } from '../firmware/firmware-record.js';
import type { Labels } from '../firmware/labels.js';
import { KeyedLock } from '../keyed-lock.js';
import type { Logger } from '../log.js';
import { BackgroundSnapshots } from './background-snapshot.js';
import { ChangeCommitter } from './change-committer.js';
import { reserveRoom } from './database-room.js';
import type { ChangeNotice, FirmwareIndex, IndexStats, ListFilter, OpenReport } from './firmware-index.js';
import type { IndexChange } from './index-change.js';
import { loadIndexReadOnly, loadOwnedIndex } from './index-file.js';
import { JournalAppender } from './journal-appender.js';
import { listSegments } from './journal-files.js';
import { IndexTotals } from './index-totals.js';
import { acquireLock } from './lock-file.js';
import { writeSnapshot } from './snapshot-file.js';

export interface IndexOptions {
  log?: Logger;
  /** A background snapshot starts once the journal being written passes this size. */
  snapshotAfterBytes?: number;
}

const COLUMNS = 'name, version, size, digest, labels, created_at';
const DEFAULT_SNAPSHOT_AFTER_BYTES = 16 * 1024 * 1024;

/**
 * The index of published firmware: rows in an in-memory SQLite database (sql.js), made
 * durable by a journal of changes and, from time to time, a whole snapshot (journal-files.ts
 * draws the files). It knows rows only: never paths of blobs, never bytes.
 *
 * Nothing acts on a change until it is durable: `insert`, `relabel` and `remove` append the
 * change to the journal and fsync it (concurrent changes share one append and one fsync),
 * and only then apply it to the database that readers query (see ChangeCommitter). So a
 * reader, gc or a download never sees a change that a crash or a failed write could take
 * back, and a failed write leaves nothing to undo.
 */
export class EmbeddedIndex implements FirmwareIndex {
  readonly #committer: ChangeCommitter;
  readonly #snapshots: BackgroundSnapshots;
  readonly #totals: IndexTotals;
  readonly #digests = new KeyedLock();
  readonly #listeners = new Set<(change: ChangeNotice | undefined) => void>();
  #closed = false;

  private constructor(
    private readonly db: Database,
    readonly file: string,
    private readonly journal: JournalAppender,
    private readonly releaseLock: () => Promise<void>,
    readonly opened: OpenReport,
    options: IndexOptions,
  ) {
    this.#totals = new IndexTotals(db);
    this.#snapshots = new BackgroundSnapshots(file, options.log);
    this.#committer = new ChangeCommitter(db, journal, this.#snapshots, {
      snapshotAfterBytes: options.snapshotAfterBytes ?? DEFAULT_SNAPSHOT_AFTER_BYTES,
      log: options.log,
      totals: this.#totals,
    });
  }

  /**
   * Opens (or creates) the index at `file`: takes its lock, loads the last snapshot, migrates
   * it, and replays the journal. Rejects with INDEX_LOCKED when another registry holds it,
   * INDEX_UNREADABLE when the files are not a usable index (naming the file and offset).
   */
  static async open(file: string, options: IndexOptions = {}): Promise<EmbeddedIndex> {
    const absolute = path.resolve(file);
    await fs.mkdir(path.dirname(absolute), { recursive: true });
    const release = await acquireLock(absolute);
    try {
      const { db, unsaved, replay } = await loadOwnedIndex(absolute);
      const { torn, segments } = replay;
      if (torn) options.log?.warn({ file: torn.file, offset: torn.offset, reason: torn.reason }, 'dropped a torn last journal record (a crash during an append); it was never acknowledged');
      let size = replay.lastSegmentBytes;
      let segment = segments.at(-1)?.number ?? 1;
      reserveRoom(db, options.log);
      if (unsaved) {
        // The journal continues a snapshot: write the first one (or the migrated one) now.
        await writeSnapshot(absolute, db.export());
        for (const { file: replayed } of segments) await fs.rm(replayed, { force: true });
        size = 0;
        segment = (segments.at(-1)?.number ?? 0) + 1;
      }
      const journal = await JournalAppender.open(absolute, segment, size);
      const opened: OpenReport = { replayed: replay.applied, touched: replay.touched, fresh: unsaved };
      const index = new EmbeddedIndex(db, absolute, journal, release, opened, options);
      // Segments a crash kept from being folded in, or a long one: fold them in now.
      if (segments.length > 1 || size > (options.snapshotAfterBytes ?? DEFAULT_SNAPSHOT_AFTER_BYTES)) {
        await journal.rotate();
        index.#snapshots.start(journal.segment - 1);
      }
      return index;
    } catch (error) {
      await release();
      throw error;
    }
  }

  /**
   * Every record the last snapshot and the journal hold, read without the lock and without
   * changing a file: for checks that must not stop a running registry (fsck). It holds every
   * change the registry acknowledged before the call.
   */
  static async readSnapshot(file: string): Promise<FirmwareRecord[]> {
    const { db } = await loadIndexReadOnly(path.resolve(file));
    try {
      return selectRecords(db, `SELECT ${COLUMNS} FROM firmware ORDER BY name, precedence DESC, created_at DESC, id DESC`, []);
    } finally {
      db.close();
    }
  }

  /** Tells `listener` how long each journal append takes, in seconds. */
  observePersist(listener: (seconds: number) => void): void {
    this.#committer.onAppend = listener;
  }

  /**
   * Sets what a background snapshot waits for before it folds the closed journal segments
   * in: the registry's version links for the changes in them. Start-up repairs the links of
   * journalled changes only, so a change may leave the journal once its link is made.
   */
  beforeSnapshot(settled: () => Promise<void>): void {
    this.#snapshots.settled = settled;
  }

  /** Journal appends since open: with group commit, fewer than changes. */
  get appends(): number {
    return this.#committer.appends;
  }

  /** Background snapshots written since open. */
  get snapshots(): number {
    return this.#snapshots.written;
  }

  /** Resolves when no background snapshot is running (tests). */
  snapshotIdle(): Promise<void> {
    return this.#snapshots.idle();
  }

  /** How many journal segments are on disk now. */
  async segmentCount(): Promise<number> {
    return (await listSegments(this.file)).length;
  }

  /** Adds a version; durable and visible when it resolves. VERSION_EXISTS if it is there. */
  insert(record: FirmwareRecord): Promise<void> {
    return this.#submit({ op: 'insert', record });
  }

  /** Replaces a version's labels; durable and visible when it resolves. NOT_FOUND if absent. */
  relabel(name: string, version: string, labels: Labels): Promise<void> {
    return this.#submit({ op: 'relabel', name, version, labels });
  }

  /** Removes a version; durable and gone when it resolves. NOT_FOUND if absent. */
  remove(name: string, version: string): Promise<void> {
    return this.#submit({ op: 'remove', name, version });
  }

  async #submit(change: IndexChange): Promise<void> {
    if (this.#closed) throw new RegistryError('UNAVAILABLE', 'the index is closed');
    await this.#committer.submit(change);
    const notice = change.op === 'insert' ? { name: change.record.name, version: change.record.version } : { name: change.name, version: change.version };
    for (const listener of this.#listeners) listener(notice);
  }

  /** One process owns the embedded index, so an in-process lock is every holder's. */
  withDigestLock<T>(digest: Digest, work: () => Promise<T>): Promise<T> {
    return this.#digests.run(digest, work);
  }

  onChange(listener: (change: ChangeNotice | undefined) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  async find(name: string, version: string): Promise<FirmwareRecord | undefined> {
    return this.findNow(name, version);
  }

  /** `find`, answered synchronously (the database is in memory). */
  findNow(name: string, version: string): FirmwareRecord | undefined {
    return this.#select(`SELECT ${COLUMNS} FROM firmware WHERE name = ? AND version = ?`, [name, version])[0];
  }

  /** Sorted by name, then SemVer precedence highest first, then newest first; at most `limit`. */
  async list(filter: ListFilter = {}, limit?: number): Promise<FirmwareRecord[]> {
    return this.listNow(filter, limit);
  }

  /** `list`, answered synchronously (benchmarks, and tests of the query plans). */
  listNow(filter: ListFilter = {}, limit?: number): FirmwareRecord[] {
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
  async firstPublished(digest: Digest): Promise<{ size: number; createdAt: string } | undefined> {
    const row = this.db.exec('SELECT size, min(created_at) FROM firmware WHERE digest = ? GROUP BY digest', [digest])[0]?.values[0];
    return row ? { size: Number(row[0]), createdAt: String(row[1]) } : undefined;
  }

  /** Whether any version points at a digest: one index lookup, however many versions do. */
  async isReferenced(digest: Digest): Promise<boolean> {
    return this.db.exec('SELECT 1 FROM firmware WHERE digest = ? LIMIT 1', [digest]).length > 0;
  }

  async stats(): Promise<IndexStats> {
    const { versions, distinctDigests, logicalBytes, storedBytes } = this.#totals;
    return { versions, distinctDigests, logicalBytes, storedBytes };
  }

  /** Just the number of versions: cheap enough for every health check. */
  async count(): Promise<number> {
    if (this.#closed) throw new RegistryError('UNAVAILABLE', 'the index is closed');
    return this.#totals.versions;
  }

  /**
   * Waits for the changes in flight, stops a background snapshot (a crash there is safe, and
   * so is stopping it), then frees the database and releases the lock.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#committer.idle();
    await this.#snapshots.stop();
    await this.journal.close();
    this.db.close();
    await this.releaseLock();
  }

  #select(sql: string, params: SqlValue[]): FirmwareRecord[] {
    return selectRecords(this.db, sql, params);
  }
}

function selectRecords(db: Database, sql: string, params: SqlValue[]): FirmwareRecord[] {
  // Prepared per call: a statement kept across calls would pin memory for the life of the index.
  const statement = db.prepare(sql, params);
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
