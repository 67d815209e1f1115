import { isRegistryError } from '../errors.js';
import { describe, isValidName, isValidVersion } from '../firmware/identifiers.js';
import { checkLabels, type Labels } from '../firmware/labels.js';
import { parsePublishTime } from '../firmware/publish-time.js';
import type { GoRow } from './go-registry.js';

/** A row of the Go registry that can be published here, before its file is read. */
export interface GoVersion {
  name: string;
  version: string;
  labels: Labels;
  /** ISO-8601 UTC with milliseconds. */
  createdAt: string;
  /** The size the Go database recorded. */
  size: number;
}

/** What a skipped row is called in the report: its name and version as they are, if readable. */
export function rowTitle(row: GoRow): string {
  return `${describe(row.name)} ${describe(row.version)}`;
}

/**
 * Judges one row: a version to publish, or the reason it cannot be (SemVer is exact here,
 * where the Go registry took any text; labels must be a string map within the limits).
 * The name and version are checked before they make a path: nothing outside `--dir` is read.
 */
export function judgeGoRow(row: GoRow, now: Date): GoVersion | { skip: string } {
  const { name, version } = row;
  if (typeof name !== 'string' || !isValidName(name)) {
    return { skip: 'the name is not valid here (1-128 letters, digits, ".", "_" and "-", starting with a letter or digit)' };
  }
  if (typeof version !== 'string' || !isValidVersion(version)) {
    return { skip: 'the version is not SemVer 2.0.0 (such as 1.2.3 or 2.0.0-rc.1, no "v"): publish it again under a SemVer version' };
  }
  const labels = judgeLabels(row.labels);
  if ('skip' in labels) return labels;
  const createdAt = judgeCreatedAt(row.createdAt, now);
  if (typeof createdAt !== 'string') return createdAt;
  if (typeof row.size !== 'number' || !Number.isSafeInteger(row.size) || row.size < 0) {
    return { skip: `the recorded size ${describe(row.size)} is not a number of bytes` };
  }
  return { name, version, labels: labels.labels, createdAt, size: row.size };
}

function judgeLabels(text: unknown): { labels: Labels } | { skip: string } {
  let value: unknown;
  try {
    value = typeof text === 'string' ? JSON.parse(text) : undefined;
  } catch {
    value = undefined;
  }
  // Go writes a nil map as null: no labels.
  if (value === null) return { labels: {} };
  if (typeof value !== 'object' || Array.isArray(value)) return { skip: `the labels ${describe(text)} are not a JSON object of strings` };
  try {
    return { labels: checkLabels(value) };
  } catch (error) {
    if (!isRegistryError(error, 'LABELS_INVALID')) throw error;
    return { skip: `the labels are not valid here: ${error.message} (${error.details.value})` };
  }
}

// SQLite's own time formats (CURRENT_TIMESTAMP gives the first; Go's driver writes times with
// fractions and a zone): without a zone the time is UTC, as CURRENT_TIMESTAMP's is.
const SQLITE_TIME = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2}(?:\.\d+)?)(Z|[+-]\d{2}:\d{2})?$/;

function judgeCreatedAt(value: unknown, now: Date): string | { skip: string } {
  const match = typeof value === 'string' ? SQLITE_TIME.exec(value.trim()) : null;
  if (!match) return { skip: `created_at ${describe(value)} is not a time such as 2024-05-01 12:00:00` };
  try {
    return parsePublishTime(`${match[1]}T${match[2]}${match[3] ?? 'Z'}`, now);
  } catch (error) {
    if (!isRegistryError(error, 'METADATA_INVALID')) throw error;
    return { skip: error.message };
  }
}
