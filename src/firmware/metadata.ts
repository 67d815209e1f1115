import { parseDigest, type Digest } from '../digest.js';
import { RegistryError } from '../errors.js';
import { checkName, checkVersion, describe } from './identifiers.js';
import { checkLabels, type Labels } from './labels.js';
import { parsePublishTime } from './publish-time.js';

/** What a publisher declares about an upload, checked (SPEC §3, `POST /firmware`). */
export interface Metadata {
  name: string;
  version: string;
  labels: Labels;
  /** The digest the publisher built; the upload must hash to it. */
  digest?: Digest;
  /** The size the publisher built; the upload must be exactly this long. */
  size?: number;
  /**
   * When the version was first published, ISO-8601 UTC (`created_at`, see publish-time.ts):
   * an import keeps the original date. Absent: the time of this publish.
   */
  createdAt?: string;
}

const KNOWN_FIELDS = new Set(['name', 'version', 'labels', 'sha256', 'size', 'created_at']);

/**
 * Parses the `metadata` part: strict JSON, known fields only, each one checked. `now` is the
 * registry's clock, which a declared `created_at` must not pass.
 */
export function parseMetadata(text: string, now: Date = new Date()): Metadata {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new RegistryError('METADATA_INVALID', `metadata is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new RegistryError('METADATA_INVALID', 'metadata must be a JSON object such as {"name":"base","version":"1.0.0"}', {
      value: describe(value),
    });
  }
  const fields = value as Record<string, unknown>;
  const unknown = Object.keys(fields).filter((key) => !KNOWN_FIELDS.has(key));
  if (unknown.length > 0) {
    throw new RegistryError('METADATA_INVALID', `metadata has unknown fields; known are ${[...KNOWN_FIELDS].join(', ')}`, {
      unknown: unknown.map(describe),
    });
  }
  const metadata: Metadata = {
    name: checkName(fields.name),
    version: checkVersion(fields.version),
    labels: checkLabels(fields.labels),
  };
  if (fields.sha256 !== undefined) {
    if (typeof fields.sha256 !== 'string') {
      throw new RegistryError('DIGEST_INVALID', 'sha256 must be a string of 64 hex digits, optionally prefixed "sha256:"');
    }
    metadata.digest = parseDigest(fields.sha256);
  }
  if (fields.size !== undefined) {
    if (typeof fields.size !== 'number' || !Number.isSafeInteger(fields.size) || fields.size < 0) {
      throw new RegistryError('METADATA_INVALID', 'size must be a whole number of bytes', { size: describe(fields.size) });
    }
    metadata.size = fields.size;
  }
  if (fields.created_at !== undefined) metadata.createdAt = parsePublishTime(fields.created_at, now);
  return metadata;
}
