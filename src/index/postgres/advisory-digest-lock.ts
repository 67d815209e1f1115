import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import type { Digest } from '../../digest.js';
import { RegistryError } from '../../errors.js';
import { KeyedLock } from '../../keyed-lock.js';
import type { Logger } from '../../log.js';
import { databaseUnavailable, isDatabaseAway } from './pg-errors.js';

const RETRY_MIN_MS = 5;
const RETRY_MAX_MS = 100;
/** Longer than any publish holds a digest: past it, something is stuck, and the caller hears so. */
const GIVE_UP_MS = 120_000;

/**
 * Per-digest mutual exclusion across every instance sharing the database: first in this
 * process (a KeyedLock: PostgreSQL's session locks are re-entrant, so two holders in one
 * session would not exclude each other), then a session-level advisory lock keyed by the
 * digest on one connection of its own.
 *
 * The connection is outside the pool on purpose: the work under the lock queries through the
 * pool, and a pool client held across it could leave the work waiting for a client that only
 * it can free. `pg_try_advisory_lock` never blocks that connection: while another instance
 * holds the digest, it is tried again after a short, growing pause.
 *
 * Without the connection there is no lock, so the work does not run: UNAVAILABLE. A connection
 * lost while work runs releases the lock in the database; that is logged (the database is
 * then away for the work's own writes too).
 */
export class AdvisoryDigestLock {
  readonly #local = new KeyedLock();
  #connection: Promise<pg.Client> | undefined;
  /** The connection's last query: node-postgres wants one query at a time on a client. */
  #lastQuery: Promise<unknown> = Promise.resolve();
  #closed = false;

  constructor(
    private readonly config: pg.ClientConfig,
    private readonly log?: Logger,
  ) {}

  run<T>(digest: Digest, work: () => Promise<T>): Promise<T> {
    return this.#local.run(digest, async () => {
      const key = lockKey(digest);
      const client = await this.#lock(digest, key);
      try {
        return await work();
      } finally {
        if (client === (await this.#connection?.catch(() => undefined))) {
          await this.#query(client, 'SELECT pg_advisory_unlock($1)', [key]).catch(async (error: unknown) => {
            // A lock left held would stop every other instance at this digest: end the
            // session, which releases all it holds (the next holder makes a new one).
            this.log?.warn({ digest, error: error instanceof Error ? error.message : String(error) }, 'could not release a digest lock; closing its connection');
            await client.end().catch(() => {});
          });
        } else {
          this.log?.warn({ digest }, 'the connection holding a digest lock broke while the work ran');
        }
      }
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    const connection = this.#connection;
    this.#connection = undefined;
    await (await connection?.catch(() => undefined))?.end().catch(() => {});
  }

  async #lock(digest: Digest, key: string): Promise<pg.Client> {
    const deadline = Date.now() + GIVE_UP_MS;
    let pause = RETRY_MIN_MS;
    for (;;) {
      const client = await this.#client();
      try {
        const { rows } = await this.#query<{ locked: boolean }>(client, 'SELECT pg_try_advisory_lock($1) AS locked', [key]);
        if (rows[0]?.locked) return client;
      } catch (error) {
        throw isDatabaseAway(error) ? databaseUnavailable('lock a digest', error) : error;
      }
      if (Date.now() > deadline) throw new RegistryError('UNAVAILABLE', `the lock of ${digest} has been held elsewhere for ${GIVE_UP_MS / 1000} s`, { dependency: 'postgresql', digest });
      await sleep(pause);
      pause = Math.min(pause * 2, RETRY_MAX_MS);
    }
  }

  #query<R extends pg.QueryResultRow>(client: pg.Client, text: string, values: unknown[]): Promise<pg.QueryResult<R>> {
    const result = this.#lastQuery.catch(() => {}).then(() => client.query<R>(text, values));
    this.#lastQuery = result;
    return result;
  }

  /** The lock connection, made again when the last one broke. */
  #client(): Promise<pg.Client> {
    if (this.#closed) return Promise.reject(new RegistryError('UNAVAILABLE', 'the index is closed'));
    if (this.#connection !== undefined) return this.#connection;
    const client = new pg.Client({ ...this.config, application_name: 'spore-registry digest locks' });
    const connection = client.connect().then(
      () => client,
      (error: unknown) => {
        throw databaseUnavailable('lock a digest', error);
      },
    );
    const forget = (error?: Error) => {
      if (this.#connection === connection) this.#connection = undefined;
      if (error) this.log?.warn({ error: error.message }, 'lost the index database connection that holds digest locks');
      client.end().catch(() => {});
    };
    client.on('error', forget);
    client.on('end', () => forget());
    connection.catch(() => forget());
    this.#connection = connection;
    return connection;
  }
}

/** The digest's 64-bit advisory lock key (the one-bigint key space), as text for the query. */
export function lockKey(digest: Digest): string {
  return createHash('sha256').update(digest).digest().readBigInt64BE(0).toString();
}
