import type { Digest } from '../../digest.js';
import type { FirmwareRecord, ListFilter } from '../firmware-index.js';

type FirstPublished = { size: number; createdAt: string } | undefined;

interface Entry {
  value: unknown;
  /** The name a list was filtered by, when it was: other names' changes leave it alone. */
  name?: string | undefined;
}

/** A list longer than this is answered from the database every time: it would crowd the cache out. */
const MAX_CACHED_LIST = 1000;

/**
 * What this instance already read from the database: versions by (name, version), lists by
 * filter and limit, first publish by digest. Update checks and downloads repeat the same few
 * reads, so they are answered here instead of by a query each — and keep being answered while
 * the database is away.
 *
 * Kept true by the change feed: a change of a version drops the entries it may touch, and a
 * missed notification drops everything. A read that ran while a change was dropping entries
 * may carry the old answer, so it is not kept (the epoch moved). Bounded: the least recently
 * used entry goes first.
 */
export class ReadCache {
  readonly #entries = new Map<string, Entry>();
  #epoch = 0;

  constructor(private readonly maxEntries: number) {}

  get size(): number {
    return this.#entries.size;
  }

  /** The current epoch: pass it to `keep*` with what a read started now found. */
  get epoch(): number {
    return this.#epoch;
  }

  find(name: string, version: string): { value: FirmwareRecord | undefined } | undefined {
    return this.#get(findKey(name, version)) as { value: FirmwareRecord | undefined } | undefined;
  }

  keepFind(epoch: number, name: string, version: string, record: FirmwareRecord | undefined): void {
    this.#set(epoch, findKey(name, version), { value: record });
  }

  list(filter: ListFilter, limit: number | undefined): FirmwareRecord[] | undefined {
    return this.#get(listKey(filter, limit))?.value as FirmwareRecord[] | undefined;
  }

  keepList(epoch: number, filter: ListFilter, limit: number | undefined, records: FirmwareRecord[]): void {
    if (records.length <= MAX_CACHED_LIST) this.#set(epoch, listKey(filter, limit), { value: records, name: filter.name });
  }

  firstPublished(digest: Digest): { value: FirstPublished } | undefined {
    return this.#get(digestKey(digest)) as { value: FirstPublished } | undefined;
  }

  keepFirstPublished(epoch: number, digest: Digest, first: FirstPublished): void {
    this.#set(epoch, digestKey(digest), { value: first });
  }

  /** Drops what a change of (name, version), pointing at `digest`, may have made wrong. */
  forget(change: { name: string; version: string; digest?: Digest | undefined }): void {
    this.#epoch++;
    this.#entries.delete(findKey(change.name, change.version));
    if (change.digest !== undefined) this.#entries.delete(digestKey(change.digest));
    for (const [key, entry] of this.#entries) {
      if (key.startsWith('l') && (entry.name === undefined || entry.name === change.name)) this.#entries.delete(key);
    }
  }

  clear(): void {
    this.#epoch++;
    this.#entries.clear();
  }

  #get(key: string): Entry | undefined {
    const entry = this.#entries.get(key);
    if (entry !== undefined) {
      // Map order is insertion order: moving a hit to the end keeps the oldest use first.
      this.#entries.delete(key);
      this.#entries.set(key, entry);
    }
    return entry;
  }

  #set(epoch: number, key: string, entry: Entry): void {
    if (epoch !== this.#epoch || this.maxEntries <= 0) return;
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    if (this.#entries.size > this.maxEntries) this.#entries.delete(this.#entries.keys().next().value as string);
  }
}

function findKey(name: string, version: string): string {
  return `f${name}\0${version}`;
}

function listKey(filter: ListFilter, limit: number | undefined): string {
  return `l${JSON.stringify([filter.name, filter.version, filter.labels, filter.releasesOnly === true, limit])}`;
}

function digestKey(digest: Digest): string {
  return `d${digest}`;
}
