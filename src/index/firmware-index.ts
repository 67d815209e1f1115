import fs from 'node:fs/promises';
import path from 'node:path';
import type { Database, SqlValue } from 'sql.js';
import type { Digest } from '../cas/digest.js';
import { RegistryError } from '../errors.js';
import type { FirmwareRecord } from '../firmware/firmware-record.js';
import type { Labels } from '../firmware/labels.js';
import type { Logger } from '../log.js';
import { applyChange, lastApplied } from './apply-change.js';
import type { IndexChange } from './index-change.js';
import { loadIndexReadOnly, loadOwnedIndex } from './index-file.js';
import { JournalAppender } from './journal-appender.js';
import { encodeEntries } from './journal-codec.js';
import { listSegments } from './journal-files.js';
import { acquireLock } from './lock-file.js';
import { compact, type CompactionResult } from './snapshot-compactor.js';
import { writeSnapshot } from './snapshot-file.js';

export type { FirmwareRecord } from '../firmware/firmware-record.js';

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

export interface IndexOptions {
  log?: Logger;
  /** A background snapshot starts once the journal being written passes this size. */
  snapshotAfterBytes?: number;
}

/** What start-up found in the journal. */
export interface OpenReport {
  /** Changes replayed over the snapshot. */
  replayed: number;
  /** Names and versions those changes touched: the only version links that may lag. */
  touched: { name: string; version: string }[];
  /** The index was new, or from an older release: nothing about the version tree is known. */
  fresh: boolean;
}

const COLUMNS = 'name, version, size, digest, labels, created_at';
const DEFAULT_SNAPSHOT_AFTER_BYTES = 16 * 1024 * 1024;
/** Free room kept in the in-memory database: a quarter of its size, and at least this. */
const ROOM_MIN_BYTES = 1024 * 1024;

interface Pending {
  change: IndexChange;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/**
 * The index of published firmware: rows in an in-memory SQLite database (sql.js), made
 * durable by a journal of changes and, from time to time, a whole snapshot (journal-files.ts
 * draws the files). It knows rows only: never paths of blobs, never bytes.
 *
 * Nothing acts on a change until it is durable: `insert`, `relabel` and `remove` append the
 * change to the journal and fsync it (concurrent changes share one append and one fsync),
 * and only then apply it to the database that readers query. So a reader, gc or a download
 * never sees a change that a crash or a failed write could take back, and a failed write
 * leaves nothing to undo.
 */
export class FirmwareIndex {
  readonly #journal: JournalAppender;
  readonly #log: Logger | undefined;
  readonly #snapshotAfterBytes: number;
  #seq: number;
  /** Versions in the index, kept as changes apply: a count(*) at a million rows costs 30 ms. */
  #versions: number;
  #pending: Pending[] = [];
  #draining: Promise<void> | undefined;
  #compaction: { promise: Promise<void>; abort: AbortController } | undefined;
  #closed = false;
  /** Told how long each journal append took, in seconds (metrics). */
  #onAppend: (seconds: number) => void = () => {};
  /** Awaited before a background snapshot folds closed segments in (see `beforeSnapshot`). */
  #beforeSnapshot: () => Promise<void> = async () => {};
  /** Journal appends since open: with group commit, fewer than changes. */
  appends = 0;
  /** Background snapshots written since open. */
  snapshots = 0;

  private constructor(
    private readonly db: Database,
    readonly file: string,
    journal: JournalAppender,
    private readonly releaseLock: () => Promise<void>,
    readonly opened: OpenReport,
    options: IndexOptions,
  ) {
    this.#journal = journal;
    this.#seq = lastApplied(db);
    this.#versions = Number(db.exec('SELECT count(*) FROM firmware')[0]?.values[0]?.[0] ?? 0);
    this.#log = options.log;
    this.#snapshotAfterBytes = options.snapshotAfterBytes ?? DEFAULT_SNAPSHOT_AFTER_BYTES;
  }

  /**
   * Opens (or creates) the index at `file`: takes its lock, loads the last snapshot, migrates
   * it, and replays the journal. Rejects with INDEX_LOCKED when another registry holds it,
   * INDEX_UNREADABLE when the files are not a usable index (naming the file and offset).
   */
  static async open(file: string, options: IndexOptions = {}): Promise<FirmwareIndex> {
    const absolute = path.resolve(file);
    await fs.mkdir(path.dirname(absolute), { recursive: true });
    const release = await acquireLock(absolute);
    try {
      const { db, unsaved, replay } = await loadOwnedIndex(absolute);
      const { torn } = replay;
      if (torn) options.log?.warn({ file: torn.file, offset: torn.offset, reason: torn.reason }, 'dropped a torn last journal record (a crash during an append); it was never acknowledged');
      let last = replay.segments.at(-1);
      let size = replay.lastSegmentBytes;
      if (unsaved) {
        // The journal continues a snapshot: write the first one (or the migrated one) now.
        await writeSnapshot(absolute, db.export());
        for (const segment of replay.segments) await fs.rm(segment.file, { force: true });
        last = undefined;
        size = 0;
      }
      const journal = await JournalAppender.open(absolute, last ? last.number : (replay.segments.at(-1)?.number ?? 0) + 1, size);
      const opened: OpenReport = { replayed: replay.applied, touched: replay.touched, fresh: unsaved };
      const index = new FirmwareIndex(db, absolute, journal, release, opened, options);
      index.#reserveRoom();
      if (replay.segments.length > 1 || size > index.#snapshotAfterBytes) index.#startSnapshot();
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
    this.#onAppend = listener;
  }

  /**
   * Sets what a background snapshot waits for before it folds the closed journal segments
   * in: the registry's version links for the changes in them. Start-up repairs the links of
   * journalled changes only, so a change may leave the journal once its link is made.
   */
  beforeSnapshot(settled: () => Promise<void>): void {
    this.#beforeSnapshot = settled;
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

  #submit(change: IndexChange): Promise<void> {
    if (this.#closed) return Promise.reject(new RegistryError('UNAVAILABLE', 'the index is closed'));
    return new Promise<void>((resolve, reject) => {
      this.#pending.push({ change, resolve, reject });
      this.#kick();
    });
  }

  #kick(): void {
    if (this.#draining) return;
    this.#draining = this.#drain().finally(() => {
      this.#draining = undefined;
      if (this.#pending.length > 0) this.#kick();
    });
  }

  /**
   * Group commit. Changes that arrive while one append is in flight share the next:
   *   1. each change is tried on the database inside a savepoint that is rolled back at once
   *      (synchronously: no reader sees it), and refused alone if it does not fit;
   *   2. the rest are appended to the journal with one fdatasync; if that fails, all of them
   *      are refused and the journal is cut back (see JournalAppender);
   *   3. now durable, they are applied, and their callers answered.
   */
  async #drain(): Promise<void> {
    while (this.#pending.length > 0) {
      const batch = this.#pending.splice(0);
      const accepted = this.#fitting(batch);
      if (accepted.length === 0) continue;
      const first = this.#seq + 1;
      const entries = accepted.map(({ change }, i) => ({ seq: first + i, change }));
      const started = performance.now();
      try {
        await this.#journal.append(encodeEntries(entries));
      } catch (error) {
        for (const { reject } of accepted) reject(error);
        continue;
      }
      this.appends++;
      this.#onAppend((performance.now() - started) / 1000);
      for (const { seq, change } of entries) {
        applyChange(this.db, seq, change);
        if (change.op !== 'relabel') this.#versions += change.op === 'insert' ? 1 : -1;
      }
      this.#seq = first + entries.length - 1;
      for (const { resolve } of accepted) resolve();
      this.#reserveRoom();
      if (this.#journal.size > this.#snapshotAfterBytes && !this.#compaction) {
        try {
          await this.#journal.rotate();
          this.#startSnapshot();
        } catch (error) {
          this.#log?.error({ err: error }, 'could not start a new journal segment; the current one grows');
        }
      }
    }
  }

  /**
   * Keeps free pages in the database for the rows to come. sql.js keeps the database as one
   * array in memory, and when the file must grow, it copies all of it into an array an
   * eighth larger: at a million versions, a copy of 450 MiB that stalls every request for up
   * to a second, after every few thousand publishes. Pages freed by a dropped table stay in
   * the file and are reused first, so the file grows here, rarely and by a lot (at start-up,
   * then once per hundreds of thousands of publishes), instead of in small, frequent steps.
   * Snapshots are written by another process from the journal, so they do not carry the room.
   */
  #reserveRoom(): void {
    const pragma = (name: string) => Number(this.db.exec(`PRAGMA ${name}`)[0]?.values[0]?.[0] ?? 0);
    const pageSize = pragma('page_size');
    const wanted = Math.max(ROOM_MIN_BYTES, (pragma('page_count') * pageSize) / 4);
    if (pragma('freelist_count') * pageSize >= wanted / 4) return;
    const started = performance.now();
    this.db.exec('SAVEPOINT room');
    this.db.exec('CREATE TABLE _room (fill BLOB)');
    // In blobs of 1 MiB: one large blob would be built whole in WebAssembly memory, which never shrinks.
    this.db.run('WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?) INSERT INTO _room SELECT zeroblob(1048576) FROM n', [Math.ceil(wanted / 1048576)]);
    this.db.exec('DROP TABLE _room');
    this.db.exec('RELEASE room');
    this.#log?.info({ bytes: Math.round(wanted), ms: Math.round(performance.now() - started) }, 'index made room for the rows to come');
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

  /** Folds every closed journal segment into a new snapshot, in the background. */
  #startSnapshot(): void {
    const through = this.#journal.segment - 1;
    if (through < 1 || this.#compaction) return;
    const abort = new AbortController();
    const promise = (async () => {
      try {
        await this.#beforeSnapshot();
        if (abort.signal.aborted) return;
        const result: CompactionResult = await compact(this.file, through, abort.signal);
        this.snapshots++;
        this.#log?.info({ ...result }, 'index snapshot written; journal segments folded in');
      } catch (error) {
        if (abort.signal.aborted) return;
        this.#log?.error({ err: error }, 'index snapshot failed; the journal keeps every change, and the next snapshot tries again');
      } finally {
        this.#compaction = undefined;
      }
    })();
    this.#compaction = { promise, abort };
  }

  /** Resolves when no background snapshot is running (tests, shutdown). */
  async snapshotIdle(): Promise<void> {
    await this.#compaction?.promise;
  }

  /** How many journal segments are on disk now. */
  async segmentCount(): Promise<number> {
    return (await listSegments(this.file)).length;
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
    if (this.#closed) throw new RegistryError('UNAVAILABLE', 'the index is closed');
    return this.#versions;
  }

  /**
   * Waits for the changes in flight, stops a background snapshot (a crash there is safe, and
   * so is stopping it), then frees the database and releases the lock.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    while (this.#draining) await this.#draining;
    if (this.#compaction) {
      this.#compaction.abort.abort();
      await this.#compaction.promise;
    }
    await this.#journal.close();
    this.db.close();
    await this.releaseLock();
  }

  #select(sql: string, params: SqlValue[]): FirmwareRecord[] {
    return selectRecords(this.db, sql, params);
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
