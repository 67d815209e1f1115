import type { FirmwareRecord } from '../firmware/firmware-record.js';
import type { Labels } from '../firmware/labels.js';
import type { PublishResult } from '../registry/registry.js';

/** A record as the API shows it (SPEC §3): snake_case like the seed, digest as `sha256:<hex>`. */
export interface RecordJson {
  name: string;
  version: string;
  size: number;
  sha256: string;
  labels: Labels;
  created_at: string;
}

export function recordJson(record: FirmwareRecord): RecordJson {
  return {
    name: record.name,
    version: record.version,
    size: record.size,
    sha256: record.digest,
    labels: record.labels,
    created_at: record.createdAt,
  };
}

export function publishJson(result: PublishResult): { success: true; deduplicated: boolean } & RecordJson {
  return { success: true, ...recordJson(result.record), deduplicated: result.deduplicated };
}
