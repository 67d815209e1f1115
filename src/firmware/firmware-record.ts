import type { Digest } from '../digest.js';
import type { Labels } from './labels.js';

/** One published version: what the index keeps, the registry returns and HTTP shows. */
export interface FirmwareRecord {
  name: string;
  version: string;
  size: number;
  digest: Digest;
  labels: Labels;
  /** ISO-8601 UTC, milliseconds. */
  createdAt: string;
}
