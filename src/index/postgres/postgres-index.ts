import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { DEFAULT_DATABASE_POOL_SIZE } from '../../config/index-config.js';
import type { Digest } from '../../digest.js';
import { isRegistryError, RegistryError } from '../../errors.js';
import type { Labels } from '../../firmware/labels.js';
import type { Logger } from '../../log.js';
import type { ChangeNotice, FirmwareIndex, FirmwareRecord, IndexStats, ListFilter, OpenReport } from '../firmware-index.js';
import { AdvisoryDigestLock } from './advisory-digest-lock.js';
import { ChangeFeed } from './change-feed.js';
import { databaseUnavailable, isDatabaseAway, orUnavailable } from './pg-errors.js';
import { selectCount, selectFirstPublished, selectList, selectReferenced, selectStats, selectVersion } from './pg-reads.js';
import { migrate } from './pg-schema.js';
import { insertVersion, relabelVersion, removeVersion, type StoredChange } from './pg-writes.js';
import { ReadCache } from './read-cache.js';

export interface PostgresIndexOptions {
  log?: Logger | undefined;
  /** Connections the pool may open (DATABASE_POOL_SIZE); two more are the index's own (changes, digest locks). */
  poolSize?: number | undefined;
  /** Reads kept to answer repeats (and to answer at all while the database is away). */
  readCacheEntries?: number | undefined;
  /** How often the change counter is read to notice missed notifications. */
  changePollMs?: number | undefined;
}

const DEFAULT_READ_CACHE_ENTRIES = 10_000;
const DEFAULT_CHANGE_POLL_MS = 500;
/**
 * Connecting (or waiting for a pooled connection) longer than this is "away". Generous: on a
 * loaded host a new server process can take seconds to start, and a write should wait that out.
 */
const CONNECT_TIMEOUT_MS = 5000;
/** The health check's answer comes within this, connecting included. */
const COUNT_TIMEOUT_MS = 1500;
/** A database that accepted a query and stopped answering is away too, just later. */
const QUERY_TIMEOUT_MS = 30_000;

/**
 * The index in PostgreSQL, shared by every registry instance configured with the same
 * DATABASE_URL (schema: pg-schema.ts; changes: pg-writes.ts). Each instance keeps:
 *
 * - a bounded pool of connections for queries and write transactions;
 * - a read cache (read-cache.ts) that answers repeated reads without a query, and answers
 *   them while the database is away: devices keep downloading and checking for updates
 *   what this instance already knows; reads it has not seen, and every write, are then
 *   UNAVAILABLE naming `postgresql`, and work again by themselves once it is back;
 * - a change feed (change-feed.ts) that drops cached reads as any instance changes a version;
 * - digest locks that exclude holders in every instance (advisory-digest-lock.ts).
 *
 * A change is durable when it resolves: the transaction committed (with the server's fsync).
 * A connection that breaks during COMMIT leaves the outcome unknown; the write then rejects
 * UNAVAILABLE, and a retry finds the version or not.
 */
export class PostgresIndex implements FirmwareIndex {
  /**
   * Nothing to replay: the database itself is the journal. Nor does it know which versions
   * changed lately, so a version tree beside it (the file-system store) is checked whole.
   */
  readonly opened: OpenReport = { replayed: 0, touched: [], fresh: true };
  readonly #cache: ReadCache;
  readonly #listeners = new Set<(change: ChangeNotice | undefined) => void>();
  readonly #writes = new Set<Promise<unknown>>();
  #feed: ChangeFeed | undefined;
  #persistListener: ((seconds: number) => void) | undefined;
  #closed = false;

  private constructor(
    private readonly pool: pg.Pool,
    private readonly locks: AdvisoryDigestLock,
    /** Schema steps this instance ran at open (0 when another instance had run them). */
    readonly migrated: number,
    private readonly log: Logger | undefined,
    readCacheEntries: number,
  ) {
    this.#cache = new ReadCache(readCacheEntries);
  }

  /**
   * Connects to `url`, brings the schema up to date (once, whichever instance gets there
   * first) and starts listening for changes. Rejects with UNAVAILABLE when the database
   * cannot be reached, INDEX_UNREADABLE when its schema is newer than this registry knows.
   */
  static async open(url: string, options: PostgresIndexOptions = {}): Promise<PostgresIndex> {
    const { log } = options;
    const connection: pg.ClientConfig = { connectionString: url, connectionTimeoutMillis: CONNECT_TIMEOUT_MS, query_timeout: QUERY_TIMEOUT_MS, keepAlive: true };
    const pool = new pg.Pool({ ...connection, max: options.poolSize ?? DEFAULT_DATABASE_POOL_SIZE, application_name: 'spore-registry' });
    // An idle pooled connection that breaks (the database restarted) is dropped by the pool;
    // without a listener, its error would end the process.
    pool.on('error', (error) => log?.warn({ error: error.message }, 'an idle index database connection broke; the pool opens a new one when needed'));
    const locks = new AdvisoryDigestLock(connection, log);
    try {
      const migrated = await orUnavailable('be opened', async () => {
        const client = await pool.connect();
        const ignore = listenForBreak(client);
        try {
          return await migrate(client, new URL(url).pathname.slice(1) || '(default)');
        } finally {
          ignore();
          client.release();
        }
      });
      if (migrated > 0) log?.info({ steps: migrated }, 'migrated the index database');
      const index = new PostgresIndex(pool, locks, migrated, log, options.readCacheEntries ?? DEFAULT_READ_CACHE_ENTRIES);
      index.#feed = await orUnavailable('be listened to', () =>
        ChangeFeed.start(connection, pool, {
          log,
          pollMs: options.changePollMs ?? DEFAULT_CHANGE_POLL_MS,
          onChange: (change) => index.#changed(change),
          onMissed: () => index.#changed(undefined),
        }),
      );
      return index;
    } catch (error) {
      await locks.close();
      await pool.end().catch(() => {});
      throw error;
    }
  }

  insert(record: FirmwareRecord): Promise<void> {
    return this.#write('insert a version', record, (client) => insertVersion(client, record));
  }

  relabel(name: string, version: string, labels: Labels): Promise<void> {
    return this.#write('relabel a version', { name, version }, (client) => relabelVersion(client, name, version, labels));
  }

  remove(name: string, version: string): Promise<void> {
    return this.#write('remove a version', { name, version }, (client) => removeVersion(client, name, version));
  }

  async find(name: string, version: string): Promise<FirmwareRecord | undefined> {
    const cached = this.#cache.find(name, version);
    if (cached) return cached.value;
    const epoch = this.#cache.epoch;
    const record = await this.#read('read a version', () => selectVersion(this.pool, name, version));
    this.#cache.keepFind(epoch, name, version, record);
    return record;
  }

  async list(filter: ListFilter = {}, limit?: number): Promise<FirmwareRecord[]> {
    const cached = this.#cache.list(filter, limit);
    if (cached) return [...cached]; // the caller's to change; the cached array stays as it was
    const epoch = this.#cache.epoch;
    const records = await this.#read('list versions', () => selectList(this.pool, filter, limit));
    this.#cache.keepList(epoch, filter, limit, records);
    return [...records];
  }

  async firstPublished(digest: Digest): Promise<{ size: number; createdAt: string } | undefined> {
    const cached = this.#cache.firstPublished(digest);
    if (cached) return cached.value;
    const epoch = this.#cache.epoch;
    const first = await this.#read('read a digest', () => selectFirstPublished(this.pool, digest));
    this.#cache.keepFirstPublished(epoch, digest, first);
    return first;
  }

  /** Always from the database: gc decides on it, and a cached "no" could cost a blob. */
  isReferenced(digest: Digest): Promise<boolean> {
    return this.#read('read a digest', () => selectReferenced(this.pool, digest));
  }

  stats(): Promise<IndexStats> {
    return this.#read('read its totals', () => selectStats(this.pool));
  }

  count(): Promise<number> {
    return this.#read('count versions', () => withDeadline(selectCount(this.pool, COUNT_TIMEOUT_MS), COUNT_TIMEOUT_MS));
  }

  withDigestLock<T>(digest: Digest, work: () => Promise<T>): Promise<T> {
    if (this.#closed) return Promise.reject(closedError());
    return this.locks.run(digest, work);
  }

  onChange(listener: (change: ChangeNotice | undefined) => void): () => void {
    const call = (change: ChangeNotice | undefined) => listener(change);
    this.#listeners.add(call);
    return () => this.#listeners.delete(call);
  }

  observePersist(listener: (seconds: number) => void): void {
    this.#persistListener = listener;
  }

  /**
   * Nothing to wait for: there is no journal to fold, and every change's version link is the
   * registry's business at the time of the change (the database never forgets a change).
   */
  beforeSnapshot(): void {}

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.allSettled([...this.#writes]);
    await this.#feed?.close();
    await this.locks.close();
    await this.pool.end();
  }

  #read<T>(what: string, query: () => Promise<T>): Promise<T> {
    if (this.#closed) return Promise.reject(closedError());
    return orUnavailable(what, query);
  }

  /**
   * One write transaction on a pooled connection; its change is passed on once committed. A
   * change refused because the version is there (or is not) says that what this instance
   * holds of the version is stale — another instance changed it, and its notice is still on
   * the way — so that is dropped at once: the registry reads the winner of a contested
   * publish right after losing.
   */
  #write(what: string, version: { name: string; version: string }, change: (client: pg.PoolClient) => Promise<StoredChange>): Promise<void> {
    if (this.#closed) return Promise.reject(closedError());
    const write = (async () => {
      const started = performance.now();
      const stored = await orUnavailable(what, async () => {
        const client = await this.pool.connect();
        const ignore = listenForBreak(client);
        let broken = false;
        try {
          return await change(client);
        } catch (error) {
          broken = isDatabaseAway(error);
          if (isRegistryError(error, 'VERSION_EXISTS') || isRegistryError(error, 'NOT_FOUND')) this.#cache.forget(version);
          throw error;
        } finally {
          ignore();
          client.release(broken); // a broken connection is closed, not pooled again
        }
      });
      this.#persistListener?.((performance.now() - started) / 1000);
      this.#feed?.committed(stored);
    })();
    this.#writes.add(write);
    const forget = () => this.#writes.delete(write);
    write.then(forget, forget);
    return write;
  }

  /** A change (or, undefined, anything) became visible: drop what it made stale, then tell the listeners. */
  #changed(change: StoredChange | undefined): void {
    if (change) this.#cache.forget(change);
    else this.#cache.clear();
    const notice = change && { name: change.name, version: change.version };
    for (const listener of this.#listeners) {
      try {
        listener(notice);
      } catch (error) {
        this.log?.error({ error: error instanceof Error ? error.message : String(error) }, 'an index change listener failed');
      }
    }
  }
}

/** `work`'s answer, or UNAVAILABLE once `ms` have passed (the work goes on, unheard). */
function withDeadline<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(databaseUnavailable('answer', new Error(`no answer within ${ms} ms`))), ms);
  });
  work.catch(() => {}); // a late failure has no one to tell
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}

function closedError(): RegistryError {
  return new RegistryError('UNAVAILABLE', 'the index is closed');
}

/**
 * A connection checked out of the pool has no error listener (the pool removes its own until
 * the release): when the database goes away meanwhile (a restart's "terminating connection
 * due to administrator command"), the client's 'error' event would end the process. The query
 * in flight rejects with the same error, which the caller handles; the event itself needs
 * only a listener. Returns the function that removes it, before the release.
 */
function listenForBreak(client: pg.PoolClient): () => void {
  const ignore = () => {};
  client.on('error', ignore);
  return () => void client.off('error', ignore);
}
