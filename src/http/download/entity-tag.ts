/**
 * Entity tags (RFC 9110 §8.8.3): `"opaque"` (strong) or `W/"opaque"` (weak), and the lists of
 * them in If-Match / If-None-Match (`*` or `1#entity-tag`).
 */
export interface EntityTag {
  weak: boolean;
  /** The quoted string, quotes included: `"sha256:…"`. */
  opaque: string;
}

/** `*` matches any current representation; `undefined` means the list did not parse. */
export type EntityTagList = '*' | EntityTag[] | undefined;

// etagc = %x21 / %x23-7E / obs-text: anything visible but DQUOTE (§8.8.3).
const ENTITY_TAG = /^(W\/)?("[\x21\x23-\x7e\x80-\xff]*")$/;

export function parseEntityTag(text: string): EntityTag | undefined {
  const match = ENTITY_TAG.exec(text.trim());
  return match ? { weak: match[1] !== undefined, opaque: match[2] as string } : undefined;
}

/**
 * Parses an If-Match / If-None-Match value. Empty list elements are allowed (§5.6.1); a
 * malformed member makes the whole field invalid, which callers treat as "no match".
 */
export function parseEntityTagList(value: string): EntityTagList {
  if (value.trim() === '*') return '*';
  const tags: EntityTag[] = [];
  for (const member of value.split(',')) {
    if (member.trim() === '') continue;
    const tag = parseEntityTag(member);
    if (!tag) return undefined;
    tags.push(tag);
  }
  return tags.length > 0 ? tags : undefined;
}

/** §8.8.3.2 strong comparison: both strong, and the same opaque tag. */
export function strongMatch(a: EntityTag, b: EntityTag): boolean {
  return !a.weak && !b.weak && a.opaque === b.opaque;
}

/** §8.8.3.2 weak comparison: the same opaque tag, whether weak or not. */
export function weakMatch(a: EntityTag, b: EntityTag): boolean {
  return a.opaque === b.opaque;
}

/** Whether a list matches the current tag; `*` matches because the representation exists. */
export function listMatches(list: EntityTagList, current: EntityTag, compare: typeof strongMatch): boolean {
  if (list === '*') return true;
  return list?.some((tag) => compare(tag, current)) ?? false;
}
