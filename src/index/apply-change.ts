import type { Database } from 'sql.js';
import { RegistryError } from '../errors.js';
import type { Labels } from '../firmware/labels.js';
import type { IndexChange } from './index-change.js';
import { isPrerelease, precedenceKey } from './precedence.js';

/**
 * Applies one journalled change to `db`, all or nothing, and records `seq` as the last change
 * the database holds (so a replay after a crash applies no change twice). Throws, changing
 * nothing, when the change does not fit the database: an insert of a version that exists, a
 * relabel or removal of one that does not.
 *
 * The one place that turns changes into SQL: the running index, start-up replay, the
 * background snapshot and fsck all apply changes through it.
 */
export function applyChange(db: Database, seq: number, change: IndexChange): void {
  db.exec('SAVEPOINT apply');
  try {
    switch (change.op) {
      case 'insert': {
        const { record } = change;
        db.run('INSERT INTO firmware (name, version, size, digest, labels, created_at, precedence, prerelease) VALUES (?, ?, ?, ?, ?, ?, ?, ?)', [
          record.name,
          record.version,
          record.size,
          record.digest,
          JSON.stringify(record.labels),
          record.createdAt,
          precedenceKey(record.version),
          isPrerelease(record.version) ? 1 : 0,
        ]);
        indexLabels(db, Number(db.exec('SELECT last_insert_rowid()')[0]?.values[0]?.[0]), record.labels);
        break;
      }
      case 'relabel': {
        const id = idOf(db, change.name, change.version);
        db.run('UPDATE firmware SET labels = ? WHERE id = ?', [JSON.stringify(change.labels), id]);
        db.run('DELETE FROM firmware_labels WHERE firmware_id = ?', [id]);
        indexLabels(db, id, change.labels);
        break;
      }
      case 'remove': {
        const id = idOf(db, change.name, change.version);
        db.run('DELETE FROM firmware_labels WHERE firmware_id = ?', [id]);
        db.run('DELETE FROM firmware WHERE id = ?', [id]);
        break;
      }
      default:
        throw new Error(`unknown index change ${JSON.stringify(change)}`);
    }
    db.run("UPDATE index_state SET value = ? WHERE key = 'journal_seq'", [seq]);
    db.exec('RELEASE apply');
  } catch (error) {
    db.exec('ROLLBACK TO apply');
    db.exec('RELEASE apply');
    throw error;
  }
}

/** The sequence number of the last change `db` holds (0: none since the index began). */
export function lastApplied(db: Database): number {
  return Number(db.exec("SELECT value FROM index_state WHERE key = 'journal_seq'")[0]?.values[0]?.[0] ?? 0);
}

function idOf(db: Database, name: string, version: string): number {
  const id = db.exec('SELECT id FROM firmware WHERE name = ? AND version = ?', [name, version])[0]?.values[0]?.[0];
  if (id === undefined || id === null) throw new RegistryError('NOT_FOUND', `firmware ${name} ${version} is not in the index`, { name, version });
  return Number(id);
}

function indexLabels(db: Database, id: number, labels: Labels): void {
  for (const [key, value] of Object.entries(labels)) {
    db.run('INSERT INTO firmware_labels (firmware_id, key, value) VALUES (?, ?, ?)', [id, key, value]);
  }
}
