import type pg from 'pg';
import type { Digest } from '../../digest.js';
import { RegistryError } from '../../errors.js';
import type { Labels } from '../../firmware/labels.js';
import type { FirmwareRecord } from '../firmware-index.js';
import { isPrerelease, precedenceKey } from '../precedence.js';
import { sqlState, UNIQUE_VIOLATION } from './pg-errors.js';

/** The channel every instance LISTENs on. */
export const CHANGE_CHANNEL = 'spore_index';

/** A committed change as the instances tell each other: what changed, and its place in order. */
export interface StoredChange {
  seq: number;
  name: string;
  version: string;
  digest: Digest;
}

/**
 * The PostgreSQL index's changes, one transaction each, on a client the caller holds. Each one:
 *
 * 1. bumps `index_state.seq` first: the row lock orders concurrent writers of every instance,
 *    so the totals below count exactly and notifications carry gapless sequence numbers;
 * 2. changes the rows (the unique key decides between concurrent inserts of one version);
 * 3. updates the totals `stats` and `count` read;
 * 4. queues a notification, which PostgreSQL delivers to every listener on commit only.
 *
 * A change that does not fit (VERSION_EXISTS, NOT_FOUND) rolls back and leaves nothing behind.
 */
export async function insertVersion(client: pg.ClientBase, record: FirmwareRecord): Promise<StoredChange> {
  return inTransaction(client, async (seq) => {
    let id: string;
    try {
      const { rows } = await client.query<{ id: string }>(
        `INSERT INTO firmware (name, version, size, digest, labels, created_at, precedence, prerelease)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`,
        [record.name, record.version, record.size, record.digest, JSON.stringify(record.labels), record.createdAt, precedenceKey(record.version), isPrerelease(record.version)],
      );
      id = rows[0]!.id;
    } catch (error) {
      if (sqlState(error) !== UNIQUE_VIOLATION) throw error;
      throw new RegistryError('VERSION_EXISTS', `firmware ${record.name} ${record.version} is already in the index`, { name: record.name, version: record.version });
    }
    await indexLabels(client, id, record.labels);
    // The digest is new when this row is its only one (the writers are ordered by step 1).
    await client.query(
      `UPDATE index_state SET versions = versions + 1, logical_bytes = logical_bytes + $1,
         distinct_digests = distinct_digests + new.digests, stored_bytes = stored_bytes + new.digests * $1
       FROM (SELECT CASE WHEN count(*) = 1 THEN 1 ELSE 0 END AS digests FROM (SELECT 1 FROM firmware WHERE digest = $2 LIMIT 2) AS rows) AS new`,
      [record.size, record.digest],
    );
    return notify(client, { seq, name: record.name, version: record.version, digest: record.digest });
  });
}

export async function relabelVersion(client: pg.ClientBase, name: string, version: string, labels: Labels): Promise<StoredChange> {
  return inTransaction(client, async (seq) => {
    const { rows } = await client.query<{ id: string; digest: Digest }>('UPDATE firmware SET labels = $3 WHERE name = $1 AND version = $2 RETURNING id, digest', [
      name,
      version,
      JSON.stringify(labels),
    ]);
    const row = rows[0] ?? notFound(name, version);
    await client.query('DELETE FROM firmware_labels WHERE firmware_id = $1', [row.id]);
    await indexLabels(client, row.id, labels);
    return notify(client, { seq, name, version, digest: row.digest });
  });
}

export async function removeVersion(client: pg.ClientBase, name: string, version: string): Promise<StoredChange> {
  return inTransaction(client, async (seq) => {
    // The version's labels go with it (ON DELETE CASCADE).
    const { rows } = await client.query<{ size: string; digest: Digest }>('DELETE FROM firmware WHERE name = $1 AND version = $2 RETURNING size, digest', [name, version]);
    const row = rows[0] ?? notFound(name, version);
    await client.query(
      `UPDATE index_state SET versions = versions - 1, logical_bytes = logical_bytes - $1,
         distinct_digests = distinct_digests - gone.digests, stored_bytes = stored_bytes - gone.digests * $1
       FROM (SELECT CASE WHEN EXISTS (SELECT 1 FROM firmware WHERE digest = $2) THEN 0 ELSE 1 END AS digests) AS gone`,
      [row.size, row.digest],
    );
    return notify(client, { seq, name, version, digest: row.digest });
  });
}

async function inTransaction(client: pg.ClientBase, change: (seq: number) => Promise<StoredChange>): Promise<StoredChange> {
  await client.query('BEGIN');
  try {
    const { rows } = await client.query<{ seq: string }>('UPDATE index_state SET seq = seq + 1 RETURNING seq');
    const stored = await change(Number(rows[0]!.seq));
    await client.query('COMMIT');
    return stored;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  }
}

async function indexLabels(client: pg.ClientBase, id: string, labels: Labels): Promise<void> {
  if (Object.keys(labels).length === 0) return;
  await client.query('INSERT INTO firmware_labels (firmware_id, key, value) SELECT $1, key, value FROM json_each_text($2::json)', [id, JSON.stringify(labels)]);
}

async function notify(client: pg.ClientBase, change: StoredChange): Promise<StoredChange> {
  await client.query('SELECT pg_notify($1, $2)', [CHANGE_CHANNEL, JSON.stringify(change)]);
  return change;
}

function notFound(name: string, version: string): never {
  throw new RegistryError('NOT_FOUND', `firmware ${name} ${version} is not in the index`, { name, version });
}
