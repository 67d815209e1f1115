import type { Database } from 'sql.js';
import { RegistryError } from '../errors.js';

/**
 * Schema versions, applied in order; `PRAGMA user_version` records how many have run.
 * Never edit a released step: add the next one.
 *
 * 1. The seed's `firmware` table (id, name, version, size, labels as JSON text, created_at,
 *    UNIQUE(name, version)) plus the content digest and a SemVer precedence key for ordering
 *    (see precedence.ts). `created_at` is ISO-8601 UTC with milliseconds.
 * 2. What queries filter on, indexed: one `firmware_labels` row per label (the JSON in
 *    `firmware.labels` stays the record; this is its index), and whether a version is a
 *    pre-release (a `-` before any `+`).
 * 3. `index_state`: the sequence number of the last journalled change the database holds, so
 *    that replaying the journal over a snapshot applies each change exactly once.
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
  `CREATE TABLE firmware_labels (
     firmware_id INTEGER NOT NULL,
     key TEXT NOT NULL,
     value TEXT NOT NULL,
     PRIMARY KEY (key, value, firmware_id)
   ) WITHOUT ROWID;
   CREATE INDEX firmware_labels_by_firmware ON firmware_labels(firmware_id);
   INSERT INTO firmware_labels (firmware_id, key, value)
     SELECT firmware.id, label.key, label.value FROM firmware, json_each(firmware.labels) AS label;
   ALTER TABLE firmware ADD COLUMN prerelease INTEGER NOT NULL DEFAULT 0;
   UPDATE firmware SET prerelease =
     instr(CASE WHEN instr(version, '+') > 0 THEN substr(version, 1, instr(version, '+') - 1) ELSE version END, '-') > 0;
   CREATE INDEX firmware_releases ON firmware(name, prerelease, precedence);`,
  `CREATE TABLE index_state (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
   INSERT INTO index_state (key, value) VALUES ('journal_seq', 0);`,
];

export const SCHEMA_VERSION = MIGRATIONS.length;

/** Brings `db` to the current schema. Returns how many steps ran (0: nothing to persist). */
export function migrate(db: Database, file: string): number {
  const current = Number(db.exec('PRAGMA user_version')[0]?.values[0]?.[0] ?? 0);
  if (current === 0 && db.exec("SELECT 1 FROM sqlite_master WHERE name = 'firmware'").length > 0) {
    throw new RegistryError(
      'INDEX_UNREADABLE',
      `${file} holds a firmware table without a schema version: it looks like the Go registry's database; import it into a new REGISTRY_DB with: spore-registry import-go --dir <its registry folder> --db ${file}`,
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
