import { listMatches, parseEntityTagList, strongMatch, weakMatch, type EntityTag } from './entity-tag.js';
import { parseHttpDate } from './http-date.js';

export interface ConditionalHeaders {
  ifMatch?: string;
  ifNoneMatch?: string;
  ifModifiedSince?: string;
  ifUnmodifiedSince?: string;
}

export interface Validators {
  etag: EntityTag;
  /** Last-Modified, in whole seconds. */
  lastModified: number;
}

export type ConditionalOutcome = 'proceed' | 'not-modified' | 'precondition-failed';

/**
 * The preconditions of a GET or HEAD, evaluated in the order RFC 9110 §13.2.2 prescribes:
 *   1. If-Match: no strong match (§13.1.1) → 412.
 *   2. else If-Unmodified-Since: modified after the date (§13.1.4) → 412.
 *   3. If-None-Match: a weak match (§13.1.2) → 304 (GET/HEAD).
 *   4. else If-Modified-Since: not modified after the date (§13.1.3) → 304.
 * (Step 5, If-Range, belongs to the Range decision: see `rangeApplies`.)
 * A field that does not parse is ignored, except If-Match, where it can match nothing.
 */
export function evaluateConditionals(headers: ConditionalHeaders, current: Validators): ConditionalOutcome {
  if (headers.ifMatch !== undefined) {
    if (!listMatches(parseEntityTagList(headers.ifMatch), current.etag, strongMatch)) return 'precondition-failed';
  } else if (headers.ifUnmodifiedSince !== undefined) {
    const date = parseHttpDate(headers.ifUnmodifiedSince);
    if (date !== undefined && current.lastModified > date) return 'precondition-failed';
  }

  if (headers.ifNoneMatch !== undefined) {
    // An If-None-Match that does not parse matches nothing; If-Modified-Since still stays ignored.
    // The ETag sent back as it was given (what clients do) matches without parsing (our tags,
    // digests, hold no comma: the field is that one tag).
    if (headers.ifNoneMatch === current.etag.opaque || listMatches(parseEntityTagList(headers.ifNoneMatch), current.etag, weakMatch)) return 'not-modified';
  } else if (headers.ifModifiedSince !== undefined) {
    const date = parseHttpDate(headers.ifModifiedSince);
    if (date !== undefined && current.lastModified <= date) return 'not-modified';
  }
  return 'proceed';
}

/**
 * If-Range (§13.1.5): the Range applies only when the validator names the current
 * representation — an entity tag by strong comparison (a weak tag never does), or a date
 * exactly equal to Last-Modified. Without If-Range the Range applies.
 */
export function rangeApplies(ifRange: string | undefined, current: Validators): boolean {
  if (ifRange === undefined) return true;
  const value = ifRange.trim();
  if (value.startsWith('"') || value.startsWith('W/')) {
    const tags = parseEntityTagList(value);
    return Array.isArray(tags) && tags.length === 1 && strongMatch(tags[0] as EntityTag, current.etag);
  }
  const date = parseHttpDate(value);
  return date !== undefined && date === current.lastModified;
}
