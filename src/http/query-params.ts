import type { ParsedUrlQuery } from 'node:querystring';
import semver from 'semver';
import { RegistryError } from '../errors.js';
import { isLabelKey, MAX_LABEL_VALUE_LENGTH, MAX_LABELS } from '../firmware/labels.js';
import type { VersionQuery } from '../registry/version-query.js';

/** The filters every query route takes; `GET /firmware` also takes `name` and `version`. */
export const FILTERS = ['label', 'range', 'prerelease'] as const;
const MAX_RANGE_LENGTH = 256;

/**
 * The filters of `GET /firmware`, `…/latest` and `/updates/…` (SPEC §3), checked. A parameter
 * this registry does not know is refused rather than ignored: a gateway rolling firmware out
 * by `lable=channel=stable` must hear about its typo, not get every firmware there is.
 */
export function parseVersionQuery(query: ParsedUrlQuery, options: { prerelease: boolean; also?: readonly string[] }): VersionQuery {
  const known = [...FILTERS, ...(options.also ?? [])];
  const unknown = Object.keys(query).filter((key) => !known.includes(key));
  if (unknown.length > 0) {
    throw invalid(`unknown query parameter "${unknown[0]}"; this route takes ${known.join(', ')}`, unknown[0] as string);
  }
  const parsed: VersionQuery = { labels: labelFilters(query.label), prerelease: options.prerelease };
  const name = single(query, 'name');
  const version = versionParameter(query, 'version');
  const range = single(query, 'range');
  const prerelease = single(query, 'prerelease');
  if (name !== undefined) parsed.name = name;
  if (version !== undefined) parsed.version = version;
  if (range !== undefined) {
    if (range.length > MAX_RANGE_LENGTH || semver.validRange(range) === null) {
      throw invalid('range must be a SemVer range such as "^1.2", ">=2 <3" or "1.x || >=2.5.0"', 'range');
    }
    parsed.range = range;
  }
  if (prerelease !== undefined) {
    if (prerelease !== 'true' && prerelease !== 'false') throw invalid('prerelease is "true" or "false"', 'prerelease');
    parsed.prerelease = prerelease === 'true';
  }
  return parsed;
}

/** A parameter given at most once. */
export function single(query: ParsedUrlQuery, key: string): string | undefined {
  const value = query[key];
  if (Array.isArray(value)) throw invalid(`give "${key}" at most once`, key);
  return value;
}

/**
 * A version in a query string. Form decoding turns `+` into a space, and devices send
 * `current=1.0.0+build.5` without encoding the `+`; a version never holds a space, so a space
 * is read back as the `+` it was.
 */
export function versionParameter(query: ParsedUrlQuery, key: string): string | undefined {
  return single(query, key)?.replaceAll(' ', '+');
}

/**
 * The label filters, each once. Each distinct filter costs the index a lookup, so their number
 * is capped at MAX_LABELS (one request with 900 filters held the server for seconds): no
 * useful query needs more, since a version has at most MAX_LABELS labels, so more distinct
 * filters name either more keys than any version has or one key twice, and match nothing.
 */
function labelFilters(value: string | string[] | undefined): [string, string][] {
  const filters = new Set(value === undefined ? [] : Array.isArray(value) ? value : [value]);
  if (filters.size > MAX_LABELS) {
    throw new RegistryError('QUERY_INVALID', `at most ${MAX_LABELS} different label filters (a version has at most ${MAX_LABELS} labels)`, {
      parameter: 'label',
      limit: MAX_LABELS,
      given: filters.size,
    });
  }
  return [...filters].map((filter) => {
    const equals = filter.indexOf('=');
    const key = filter.slice(0, equals);
    const label = filter.slice(equals + 1);
    if (equals === -1 || !isLabelKey(key) || label.length > MAX_LABEL_VALUE_LENGTH) {
      throw invalid('a label filter is key=value, such as label=channel=stable', 'label');
    }
    return [key, label];
  });
}

function invalid(message: string, parameter: string): RegistryError {
  return new RegistryError('QUERY_INVALID', message, { parameter });
}
