import type { Database } from 'sql.js';
import { RegistryError } from '../errors.js';

/**
 * Schema versions, applied in order; `PRAGMA user_version` records how many have run.
 * Never edit a released step: add the next one.
 *
 * 1. The seed's `firmware` table (id, name, version, size, labels as JSON text, created_at,
 *    UNIQUE(name, version)) plus the content digest and a SemVer precedence key for ordering
 *    (see precedence.ts). `created_at` is ISO-8601 UTC with milliseconds.
 */
const MIGRATIONS: readonly string[] = [
  `CREATE TABLE firmware (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     name TEXT NOT NULL,
     version TEXT NOT NULL,
     size INTEGER NOT NULL,
     labels TEXT NOT NULL DEFAULT '{}',
     created_at TEXT NOT NULL,
     digest TEXT NOT NULL,
     precedence TEXT NOT NULL,
     UNIQUE(name, version)
   );
   CREATE INDEX firmware_by_precedence ON firmware(name, precedence);
   CREATE INDEX firmware_by_digest ON firmware(digest);`,
];

export const SCHEMA_VERSION = MIGRATIONS.length;

/** Brings `db` to the current schema. Returns how many steps ran (0: nothing to persist). */
export function migrate(db: Database, file: string): number {
  const current = Number(db.exec('PRAGMA user_version')[0]?.values[0]?.[0] ?? 0);
  if (current === 0 && db.exec("SELECT 1 FROM sqlite_master WHERE name = 'firmware'").length > 0) {
    throw new RegistryError(
      'INDEX_UNREADABLE',
      `${file} holds a firmware table without a schema version: it looks like the Go registry's database, which this registry does not import; start with a new REGISTRY_DB`,
      { file },
    );
  }
  if (current > SCHEMA_VERSION) {
    throw new RegistryError(
      'INDEX_UNREADABLE',
      `${file} has schema version ${current}, newer than this registry knows (${SCHEMA_VERSION}); run a newer registry`,
      { file, found: current, known: SCHEMA_VERSION },
    );
  }
  for (let step = current; step < SCHEMA_VERSION; step++) {
    db.exec('BEGIN');
    try {
      db.exec(MIGRATIONS[step] ?? '');
      db.exec(`PRAGMA user_version = ${step + 1}`);
      db.exec('COMMIT');
    } catch (error) {
      db.exec('ROLLBACK');
      throw error;
    }
  }
  return SCHEMA_VERSION - current;
}
