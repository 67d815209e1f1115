import semver from 'semver';
import type { FirmwareRecord } from '../firmware/firmware-record.js';
import type { ListFilter } from '../index/firmware-index.js';

/**
 * What a client asks for when it lists, looks for the latest, or checks for an update
 * (SPEC §3): exact name and version, labels that must all be present, a SemVer range, and
 * whether pre-releases count. The index answers the exact parts; the range is SemVer's.
 */
export interface VersionQuery {
  name?: string;
  version?: string;
  labels: [key: string, value: string][];
  /** Any range the `semver` package accepts: `^1.2`, `>=2 <3`, `1.x || 2.0.0-rc.1`. */
  range?: string;
  /**
   * Whether pre-releases match: they are left out when false, and ranges match them like any
   * version when true (npm's `includePrerelease`), so `^2` then takes `2.1.0-beta.1` too.
   */
  prerelease: boolean;
}

export function indexFilter(query: VersionQuery): ListFilter {
  return {
    ...(query.name !== undefined ? { name: query.name } : {}),
    ...(query.version !== undefined ? { version: query.version } : {}),
    labels: labelLookups(query.labels),
    releasesOnly: !query.prerelease,
  };
}

/**
 * The label pairs the index must look up: each costs it a subquery, so each goes once. A key
 * asked for with two values can match no version (a version has one value per key): those
 * two pairs alone tell the index so, without the lookups of every other pair.
 */
function labelLookups(labels: [string, string][]): [string, string][] {
  const wanted = new Map<string, string>();
  for (const [key, value] of labels) {
    const earlier = wanted.get(key);
    if (earlier !== undefined && earlier !== value) return [[key, earlier], [key, value]];
    wanted.set(key, value);
  }
  return [...wanted];
}

/** Keeps the records in the range; the index's order (highest precedence first) is kept. */
export function inRange(records: FirmwareRecord[], query: VersionQuery): FirmwareRecord[] {
  const { range } = query;
  if (range === undefined) return records;
  const compiled = new semver.Range(range, { includePrerelease: query.prerelease });
  return records.filter((record) => compiled.test(record.version));
}

/**
 * The update for a device on `current`: the highest matching version above it, or
 * `undefined` when `current` is the newest (or newer than anything published). Build metadata
 * does not count (SemVer §10): 1.0.0+b is not an update for 1.0.0+a.
 */
export function updateFor(current: string, candidates: FirmwareRecord[]): FirmwareRecord | undefined {
  const highest = candidates[0];
  return highest && semver.gt(highest.version, current) ? highest : undefined;
}
