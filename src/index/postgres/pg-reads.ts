import type pg from 'pg';
import type { Digest } from '../../digest.js';
import type { Labels } from '../../firmware/labels.js';
import type { FirmwareRecord, IndexStats, ListFilter } from '../firmware-index.js';

/**
 * The PostgreSQL index's read queries, as pure builders and row mappers, with the same order
 * and filters as the embedded index (src/index/embedded-index.ts).
 */

const COLUMNS = 'name, version, size, digest, labels, created_at';
const ORDER = 'ORDER BY name, precedence DESC, created_at DESC, id DESC';

interface FirmwareRow {
  name: string;
  version: string;
  /** bigint: node-postgres gives it as text. */
  size: string;
  digest: string;
  labels: string;
  created_at: string;
}

export function toRecord(row: FirmwareRow): FirmwareRecord {
  return {
    name: row.name,
    version: row.version,
    size: Number(row.size),
    digest: row.digest as Digest,
    labels: JSON.parse(row.labels) as Labels,
    createdAt: row.created_at,
  };
}

export async function selectVersion(db: pg.Pool, name: string, version: string): Promise<FirmwareRecord | undefined> {
  const { rows } = await db.query<FirmwareRow>(`SELECT ${COLUMNS} FROM firmware WHERE name = $1 AND version = $2`, [name, version]);
  return rows[0] && toRecord(rows[0]);
}

export async function selectList(db: pg.Pool, filter: ListFilter, limit: number | undefined): Promise<FirmwareRecord[]> {
  const where: string[] = [];
  const params: unknown[] = [];
  const param = (value: unknown) => {
    params.push(value);
    return `$${params.length}`;
  };
  if (filter.name !== undefined) where.push(`name = ${param(filter.name)}`);
  if (filter.version !== undefined) where.push(`version = ${param(filter.version)}`);
  if (filter.releasesOnly) where.push('NOT prerelease');
  for (const [key, value] of filter.labels ?? []) {
    // One lookup in the (key, value, firmware_id) key per pair; the planner picks which side drives.
    where.push(`EXISTS (SELECT 1 FROM firmware_labels WHERE firmware_id = firmware.id AND key = ${param(key)} AND value = ${param(value)})`);
  }
  const clause = where.length > 0 ? `WHERE ${where.join(' AND ')}` : '';
  const limitClause = limit === undefined ? '' : `LIMIT ${Math.max(0, Math.floor(limit))}`;
  const { rows } = await db.query<FirmwareRow>(`SELECT ${COLUMNS} FROM firmware ${clause} ${ORDER} ${limitClause}`, params);
  return rows.map(toRecord);
}

export async function selectFirstPublished(db: pg.Pool, digest: Digest): Promise<{ size: number; createdAt: string } | undefined> {
  const { rows } = await db.query<{ size: string; created_at: string }>('SELECT size, created_at FROM firmware WHERE digest = $1 ORDER BY created_at LIMIT 1', [digest]);
  return rows[0] && { size: Number(rows[0].size), createdAt: rows[0].created_at };
}

export async function selectReferenced(db: pg.Pool, digest: Digest): Promise<boolean> {
  const { rows } = await db.query('SELECT 1 FROM firmware WHERE digest = $1 LIMIT 1', [digest]);
  return rows.length > 0;
}

export async function selectStats(db: pg.Pool): Promise<IndexStats> {
  const { rows } = await db.query<Record<'versions' | 'distinct_digests' | 'logical_bytes' | 'stored_bytes', string>>(
    'SELECT versions, distinct_digests, logical_bytes, stored_bytes FROM index_state',
  );
  const row = rows[0];
  return {
    versions: Number(row?.versions ?? 0),
    distinctDigests: Number(row?.distinct_digests ?? 0),
    logicalBytes: Number(row?.logical_bytes ?? 0),
    storedBytes: Number(row?.stored_bytes ?? 0),
  };
}

/** The number of versions, given up after `timeoutMs` (a health check must answer soon). */
export async function selectCount(db: pg.Pool, timeoutMs: number): Promise<number> {
  // node-postgres honours query_timeout per query; its types know it only per client.
  const query = { text: 'SELECT versions FROM index_state', query_timeout: timeoutMs } as pg.QueryConfig;
  const { rows } = await db.query<{ versions: string }>(query);
  return Number(rows[0]?.versions ?? 0);
}

/** The sequence number of the last change: what the change feed compares notifications with. */
export async function selectSeq(db: pg.Pool | pg.ClientBase): Promise<number> {
  const { rows } = await db.query<{ seq: string }>('SELECT seq FROM index_state');
  return Number(rows[0]?.seq ?? 0);
}
