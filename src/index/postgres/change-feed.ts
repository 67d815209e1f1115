import pg from 'pg';
import type { Logger } from '../../log.js';
import { selectSeq } from './pg-reads.js';
import { CHANGE_CHANNEL, type StoredChange } from './pg-writes.js';

export interface ChangeFeedOptions {
  log?: Logger | undefined;
  /** How often the change counter is read, to notice notifications that never came. */
  pollMs: number;
  /** Called for each change, this instance's and others'. */
  onChange: (change: StoredChange) => void;
  /** Called when changes may have been missed: anything may have changed. */
  onMissed: () => void;
}

const RECONNECT_MIN_MS = 100;
const RECONNECT_MAX_MS = 2000;

/**
 * How an instance learns of every change to the shared index, its own and other instances':
 *
 * - Its own, from the index right after each commit (`committed`), so a change is visible in
 *   this process at once.
 * - Others', from PostgreSQL's NOTIFY on a LISTEN connection of its own (outside the pool):
 *   each write transaction notifies with its sequence number, delivered on commit, in commit
 *   order. Sequence numbers have no gaps (pg-writes.ts), so a gap means a notification was
 *   lost.
 * - As a fallback, the counter is read every `pollMs`: when it was ahead of every notification
 *   one poll ago, and still is, notifications are being missed. After a gap, a counter that
 *   ran ahead, or a LISTEN connection that had to be made again, `onMissed` says "anything".
 *
 * While the database is away nothing is said: no one can change it then. Once it answers
 * again, `onMissed` runs (a change may have committed just before the connection broke).
 */
export class ChangeFeed {
  /** Every change up to this sequence number has been passed on. */
  #seen = 0;
  /** This instance's changes passed on before their notification came. */
  readonly #own = new Set<number>();
  #listener: pg.Client | undefined;
  #reconnectMs = RECONNECT_MIN_MS;
  #pollTimer: NodeJS.Timeout | undefined;
  #reconnectTimer: NodeJS.Timeout | undefined;
  /** The counter at the last poll; undefined while the database does not answer. */
  #polledSeq: number | undefined;
  #away = false;
  /** A LISTEN connection is being made. */
  #connecting = false;
  #closed = false;

  private constructor(
    private readonly connection: pg.ClientConfig,
    private readonly pool: pg.Pool,
    private readonly options: ChangeFeedOptions,
  ) {}

  /** Starts listening; resolves once the LISTEN connection is up. */
  static async start(connection: pg.ClientConfig, pool: pg.Pool, options: ChangeFeedOptions): Promise<ChangeFeed> {
    const feed = new ChangeFeed(connection, pool, options);
    await feed.#listen();
    feed.#schedulePoll();
    return feed;
  }

  /** This instance committed `change`: pass it on now, and skip its notification later. */
  committed(change: StoredChange): void {
    if (change.seq > this.#seen) this.#own.add(change.seq);
    this.options.onChange(change);
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#pollTimer);
    clearTimeout(this.#reconnectTimer);
    await this.#listener?.end().catch(() => {});
  }

  async #listen(): Promise<void> {
    const client = new pg.Client({ ...this.connection, application_name: 'spore-registry changes' });
    client.on('error', (error) => this.#lost(client, error));
    client.on('end', () => this.#lost(client));
    client.on('notification', (message) => {
      if (message.channel !== CHANGE_CHANNEL) return;
      const change = parseChange(message.payload);
      // Someone else's message on our channel: it cannot be placed in order, so assume anything.
      if (change) this.#notified(change);
      else this.#missed(this.#seen);
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${CHANGE_CHANNEL}`);
      // Read after LISTEN: a change committed from here on arrives as a notification.
      const seq = await selectSeq(client);
      if (this.#away) this.#missed(seq);
      else this.#seen = seq;
      this.#listener = client;
      this.#away = false;
      this.#reconnectMs = RECONNECT_MIN_MS;
      if (this.#closed) await client.end(); // closed while this reconnected
    } catch (error) {
      client.removeAllListeners('end');
      await client.end().catch(() => {});
      throw error;
    }
  }

  #notified(change: StoredChange): void {
    if (change.seq > this.#seen + 1) this.#missed(change.seq);
    this.#seen = Math.max(this.#seen, change.seq);
    if (this.#own.delete(change.seq)) return;
    this.options.onChange(change);
  }

  #missed(upTo: number): void {
    this.#own.clear();
    this.#seen = Math.max(this.#seen, upTo);
    this.options.onMissed();
  }

  /** The LISTEN connection broke: make it again, backing off while the database is away. */
  #lost(client: pg.Client, error?: Error): void {
    if (this.#closed || client !== this.#listener) return;
    this.#listener = undefined;
    this.#away = true;
    this.options.log?.warn({ error: error?.message }, 'lost the index database connection that listens for changes; reconnecting');
    client.end().catch(() => {});
    this.#scheduleReconnect();
  }

  /** Tries the LISTEN connection again after `delay` ms, unless a try is under way. */
  #scheduleReconnect(delay = this.#reconnectMs): void {
    if (this.#closed || this.#connecting) return;
    clearTimeout(this.#reconnectTimer);
    this.#reconnectTimer = setTimeout(() => {
      this.#connecting = true;
      this.#listen()
        .then(
          () => this.options.log?.info({}, 'listening for index changes again'),
          () => (this.#reconnectMs = Math.min(this.#reconnectMs * 2, RECONNECT_MAX_MS)),
        )
        .finally(() => {
          this.#connecting = false;
          if (this.#listener === undefined) this.#scheduleReconnect();
        });
    }, delay);
  }

  #schedulePoll(): void {
    if (this.#closed) return;
    this.#pollTimer = setTimeout(() => void this.#poll().finally(() => this.#schedulePoll()), this.options.pollMs);
  }

  async #poll(): Promise<void> {
    let seq: number;
    try {
      seq = await selectSeq(this.pool);
    } catch {
      this.#polledSeq = undefined; // away: the pool and the LISTEN connection come back by themselves
      return;
    }
    if (this.#listener === undefined) {
      // The database answers, but no one listens yet: what changed since is unheard. Say so
      // now, and listen again now rather than after the back-off.
      if (seq > this.#seen) this.#missed(seq);
      this.#reconnectMs = RECONNECT_MIN_MS;
      this.#scheduleReconnect(0);
    } else if (this.#polledSeq !== undefined && this.#seen < this.#polledSeq) {
      // Ahead of every notification one poll ago, and still: a notification never came.
      this.options.log?.warn({ seen: this.#seen, committed: this.#polledSeq }, 'index change notifications were missed; forgetting what this instance read');
      this.#missed(this.#polledSeq);
    }
    this.#polledSeq = seq;
  }
}

function parseChange(payload: string | undefined): StoredChange | undefined {
  try {
    const change = JSON.parse(payload ?? '') as Partial<StoredChange>;
    const valid = Number.isSafeInteger(change.seq) && typeof change.name === 'string' && typeof change.version === 'string' && typeof change.digest === 'string';
    return valid ? (change as StoredChange) : undefined;
  } catch {
    return undefined;
  }
}
