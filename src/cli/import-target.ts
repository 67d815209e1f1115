import type { Digest } from '../digest.js';
import type { GoVersion } from './go-version.js';

/** A version of the Go registry, with its file hashed: what an import publishes. */
export interface ImportItem extends GoVersion {
  file: string;
  digest: Digest;
}

/**
 * What publishing one version came to:
 * - `imported`: published now, with its original date;
 * - `present`: this version was already published with these bytes (a re-run, or a resumed one);
 * - `conflict`: this version is published with other bytes (`published`), and stays as it is;
 * - `refused`: the registry would not take it, for `reason` (too large, say): nothing changed.
 */
export type ImportOutcome =
  | { kind: 'imported' }
  | { kind: 'present' }
  | { kind: 'conflict'; published: string }
  | { kind: 'refused'; reason: string };

/**
 * Where an import publishes: the running registry over HTTP, or the local data. Either
 * publishes by digest first and sends the bytes only when the registry lacks them. A failure
 * that is not about this one version (the registry unreachable, a token refused, a full disk)
 * rejects, and ends the import: what was published stays, and a second run resumes.
 */
export interface ImportTarget {
  publish(item: ImportItem): Promise<ImportOutcome>;
  close(): Promise<void>;
}
