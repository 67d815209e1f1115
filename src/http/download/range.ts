/**
 * Range requests (RFC 9110 §14). The decision about a `Range` header, as a tagged union:
 *
 *   none           no Range, or one that must be ignored (unknown unit, bad syntax,
 *                  too many ranges): answer 200 with the whole representation
 *   unsatisfiable  no range overlaps the representation: 416 with `bytes * /size`
 *   ranges         one or more satisfiable ranges, clamped to the size, in request order
 */
export type RangeDecision =
  | { kind: 'none'; reason: 'absent' | 'unit' | 'syntax' | 'too-many' }
  | { kind: 'unsatisfiable' }
  | { kind: 'ranges'; ranges: ByteRange[] };

/** Inclusive byte positions, both within the representation. */
export interface ByteRange {
  start: number;
  end: number;
}

/** More ranges than this in one request are ignored (§14.2 lets a server ignore or refuse). */
export const MAX_RANGES = 200;

// int-range / suffix-range (§14.1.1). Positions are digits only: no signs, no spaces inside.
const RANGE_SPEC = /^(\d*)-(\d*)$/;

/**
 * Decides how `Range: <value>` applies to a representation of `size` bytes.
 *   - The unit is case-insensitive (§14.1); other units are ignored.
 *   - `a-b` with b < a is invalid (§14.1.1); this registry answers 416 to it, as to a first
 *     position at or past the end (§14.1.2). `-0` selects nothing: 416.
 *   - A last position past the end is clamped (§14.1.2: bytes=9000-10000 on 10000 bytes).
 *   - Positions of any length parse without overflow: beyond 2^53 they are larger than any
 *     representation, which is all the comparisons need to know.
 *   - Overlapping ranges are merged (§14.2 allows coalescing); order of first appearance
 *     is kept. What is left decides the answer's form (plan.ts): one range is a plain 206,
 *     whatever was asked (§14.6), as nginx, Go and h2o answer.
 */
export function parseRange(value: string | undefined, size: number): RangeDecision {
  if (value === undefined) return { kind: 'none', reason: 'absent' };
  const equals = value.indexOf('=');
  if (equals === -1) return { kind: 'none', reason: 'syntax' };
  if (value.slice(0, equals).trim().toLowerCase() !== 'bytes') return { kind: 'none', reason: 'unit' };

  const set = value.slice(equals + 1);
  // One range is by far the most common request: no list to build.
  const specs = set.includes(',') ? set.split(',').map((spec) => spec.trim()).filter((spec) => spec !== '') : [set.trim()].filter((spec) => spec !== '');
  if (specs.length === 0) return { kind: 'none', reason: 'syntax' };
  if (specs.length > MAX_RANGES) return { kind: 'none', reason: 'too-many' };

  const satisfiable: ByteRange[] = [];
  let invalid = false;
  for (const spec of specs) {
    const match = RANGE_SPEC.exec(spec);
    if (!match || (match[1] === '' && match[2] === '')) return { kind: 'none', reason: 'syntax' };
    const [, firstText = '', lastText = ''] = match;
    if (firstText === '') {
      // suffix-range: the last N bytes.
      const length = position(lastText);
      if (length > 0 && size > 0) satisfiable.push({ start: Math.max(0, size - length), end: size - 1 });
      continue;
    }
    const first = position(firstText);
    const last = lastText === '' ? Infinity : position(lastText);
    if (last < first) {
      invalid = true;
      continue;
    }
    if (first < size) satisfiable.push({ start: first, end: Math.min(last, size - 1) });
  }
  if (invalid || satisfiable.length === 0) return { kind: 'unsatisfiable' };
  return { kind: 'ranges', ranges: mergeOverlapping(satisfiable) };
}

function position(digits: string): number {
  const significant = digits.replace(/^0+(?=\d)/, '');
  // 16+ digits may not be exact as a double, but are beyond any size we store.
  return significant.length > 15 ? Infinity : Number(significant);
}

function mergeOverlapping(ranges: ByteRange[]): ByteRange[] {
  const merged: ByteRange[] = [];
  for (const range of ranges) {
    const current = { ...range };
    // Absorb every earlier range this one overlaps, keeping the earliest position in the list.
    let at = -1;
    for (let i = 0; i < merged.length; i++) {
      const other = merged[i] as ByteRange;
      if (other.start <= current.end && current.start <= other.end) {
        current.start = Math.min(current.start, other.start);
        current.end = Math.max(current.end, other.end);
        if (at === -1) at = i;
        merged.splice(i--, 1);
      }
    }
    if (at === -1) merged.push(current);
    else merged.splice(at, 0, current);
  }
  return merged;
}
