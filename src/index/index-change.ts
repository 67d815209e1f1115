import type { Labels } from '../firmware/labels.js';
import type { FirmwareRecord } from '../firmware/firmware-record.js';

/**
 * One change to the index: what the journal records and what is applied to the database.
 * A change is applied only once it is durable, so readers never see one that could be lost.
 */
export type IndexChange =
  | { op: 'insert'; record: FirmwareRecord }
  | { op: 'relabel'; name: string; version: string; labels: Labels }
  | { op: 'remove'; name: string; version: string };

/** The name and version a change is about. */
export function changedVersion(change: IndexChange): { name: string; version: string } {
  return change.op === 'insert' ? { name: change.record.name, version: change.record.version } : { name: change.name, version: change.version };
}
