import type pg from 'pg';
import { RegistryError } from '../../errors.js';

/**
 * The PostgreSQL index's schema versions, applied in order; `schema_migrations` records each
 * one that ran. Never edit a released step: add the next one.
 *
 * 1. `firmware`, as the embedded index has it (src/index/schema.ts): one row per version with
 *    the SemVer precedence key (precedence.ts) as `COLLATE "C"` text, so byte order is
 *    precedence order whatever the database's locale; names, versions and digests collate "C"
 *    too, to sort as the embedded index sorts. Labels stay the JSON text the registry wrote
 *    (jsonb would reorder keys); `created_at` stays ISO-8601 UTC text, which sorts by time.
 *    `firmware_labels` indexes the labels for AND filters, both ways: by label (few
 *    versions carry it) and by version (a name's versions, each checked with one index-only
 *    probe). `index_state` is one row: the
 *    sequence number of the last change (each write transaction bumps it first, which orders
 *    the writers and lets every instance notice a missed notification) and the totals that
 *    `stats` and `count` read without counting.
 */
const MIGRATIONS: readonly string[] = [
  `CREATE TABLE firmware (
     id bigserial PRIMARY KEY,
     name text COLLATE "C" NOT NULL,
     version text COLLATE "C" NOT NULL,
     size bigint NOT NULL,
     digest text COLLATE "C" NOT NULL,
     labels text NOT NULL DEFAULT '{}',
     created_at text COLLATE "C" NOT NULL,
     precedence text COLLATE "C" NOT NULL,
     prerelease boolean NOT NULL,
     UNIQUE (name, version)
   );
   CREATE INDEX firmware_by_precedence ON firmware (name, precedence);
   CREATE INDEX firmware_by_digest ON firmware (digest, created_at);
   CREATE INDEX firmware_releases ON firmware (name, prerelease, precedence);
   CREATE TABLE firmware_labels (
     firmware_id bigint NOT NULL REFERENCES firmware (id) ON DELETE CASCADE,
     key text COLLATE "C" NOT NULL,
     value text COLLATE "C" NOT NULL,
     PRIMARY KEY (key, value, firmware_id)
   );
   CREATE INDEX firmware_labels_by_firmware ON firmware_labels (firmware_id, key, value);
   CREATE TABLE index_state (
     one boolean PRIMARY KEY DEFAULT true CHECK (one),
     seq bigint NOT NULL DEFAULT 0,
     versions bigint NOT NULL DEFAULT 0,
     logical_bytes bigint NOT NULL DEFAULT 0,
     distinct_digests bigint NOT NULL DEFAULT 0,
     stored_bytes bigint NOT NULL DEFAULT 0
   );
   INSERT INTO index_state DEFAULT VALUES;`,
];

export const PG_SCHEMA_VERSION = MIGRATIONS.length;

/**
 * The advisory lock (two-int form, a key space apart from the digest locks' one-bigint form)
 * that instances starting together take, so that exactly one runs each migration.
 */
const MIGRATION_LOCK = [0x53504f52, 1] as const; // "SPOR", 1

/**
 * Brings the database to the current schema, each step in its own transaction, under a
 * session advisory lock: instances that start at once queue here, and the ones after the
 * first find nothing left to do. Returns how many steps this call ran.
 */
export async function migrate(client: pg.ClientBase, database: string): Promise<number> {
  await client.query('SELECT pg_advisory_lock($1, $2)', [...MIGRATION_LOCK]);
  try {
    await client.query('CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())');
    const { rows } = await client.query<{ version: number | null }>('SELECT max(version) AS version FROM schema_migrations');
    const current = rows[0]?.version ?? 0;
    if (current > PG_SCHEMA_VERSION) {
      throw new RegistryError(
        'INDEX_UNREADABLE',
        `the index database ${database} has schema version ${current}, newer than this registry knows (${PG_SCHEMA_VERSION}); run a newer registry`,
        { database, found: current, known: PG_SCHEMA_VERSION },
      );
    }
    for (let step = current; step < PG_SCHEMA_VERSION; step++) {
      await client.query('BEGIN');
      try {
        await client.query(MIGRATIONS[step] ?? '');
        await client.query('INSERT INTO schema_migrations (version) VALUES ($1)', [step + 1]);
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK').catch(() => {});
        throw error;
      }
    }
    return PG_SCHEMA_VERSION - current;
  } finally {
    await client.query('SELECT pg_advisory_unlock($1, $2)', [...MIGRATION_LOCK]).catch(() => {});
  }
}
