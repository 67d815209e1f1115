import { performance } from 'node:perf_hooks';
import type { Digest } from '../../digest.js';
import type { FirmwareRecord, ListFilter } from '../firmware-index.js';

type FirstPublished = { size: number; createdAt: string } | undefined;

interface Entry {
  value: unknown;
  /** When it was read (performance.now()): an absence is trusted only briefly (see `find`). */
  at?: number;
  /** The name a list was filtered by, when it was: other names' changes leave it alone. */
  name?: string | undefined;
}

/** A list longer than this is answered from the database every time: it would crowd the cache out. */
const MAX_CACHED_LIST = 1000;
/**
 * How long "no such version" is answered from memory. A version that appears is announced to
 * every instance, but should a notice be lost where the counter cannot tell (a poll that
 * fails under load), a remembered absence would hide a published version until the next
 * change. Absences are cheap to ask again and worthless while the database is away (there is
 * nothing to download), so they are trusted for well under the one second instances promise.
 */
const ABSENCE_TRUSTED_MS = 250;
/** Changes remembered to judge reads in flight; a read older than all of them is not kept. */
const RECENT_CHANGES = 256;

/** A change the cache dropped entries for; `undefined` fields: everything was dropped. */
interface Dropped {
  epoch: number;
  name?: string | undefined;
  version?: string | undefined;
  digest?: Digest | undefined;
}

/**
 * What this instance already read from the database: versions by (name, version), lists by
 * filter and limit, first publish by digest. Update checks and downloads repeat the same few
 * reads, so they are answered here instead of by a query each — and keep being answered while
 * the database is away.
 *
 * Kept true by the change feed: a change of a version drops the entries it may touch, and a
 * missed notification drops everything. A read that ran while a change dropped the entry it
 * would fill may carry the old answer, so it is not kept; a read that only overlapped changes
 * of other versions is (under steady writes, most reads overlap some change, and a read not
 * kept is one the instance cannot answer while the database is away). Bounded: the least
 * recently used entry goes first.
 */
export class ReadCache {
  readonly #entries = new Map<string, Entry>();
  readonly #dropped: Dropped[] = [];
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
    const key = findKey(name, version);
    const entry = this.#get(key);
    if (entry?.value === undefined && entry?.at !== undefined && performance.now() - entry.at > ABSENCE_TRUSTED_MS) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry as { value: FirmwareRecord | undefined } | undefined;
  }

  keepFind(epoch: number, name: string, version: string, record: FirmwareRecord | undefined): void {
    this.#set(epoch, findKey(name, version), record === undefined ? { value: record, at: performance.now() } : { value: record });
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
    this.#remember({ epoch: this.#epoch, name: change.name, version: change.version, digest: change.digest });
    this.#entries.delete(findKey(change.name, change.version));
    if (change.digest !== undefined) this.#entries.delete(digestKey(change.digest));
    for (const [key, entry] of this.#entries) {
      if (key.startsWith('l') && (entry.name === undefined || entry.name === change.name)) this.#entries.delete(key);
    }
  }

  clear(): void {
    this.#epoch++;
    this.#remember({ epoch: this.#epoch });
    this.#entries.clear();
  }

  #remember(dropped: Dropped): void {
    this.#dropped.push(dropped);
    if (this.#dropped.length > RECENT_CHANGES) this.#dropped.shift();
  }

  /** Whether a change since `epoch` may have made what a read of `key` (an entry like `entry`) found old. */
  #changedSince(epoch: number, key: string, entry: Entry): boolean {
    if (epoch === this.#epoch) return false;
    const oldest = this.#dropped[0];
    if (oldest === undefined || oldest.epoch > epoch + 1) return true; // older than what is remembered
    for (const dropped of this.#dropped) {
      if (dropped.epoch <= epoch) continue;
      if (dropped.name === undefined) return true;
      if (key === findKey(dropped.name, dropped.version ?? '')) return true;
      if (dropped.digest !== undefined && key === digestKey(dropped.digest)) return true;
      if (key.startsWith('l') && (entry.name === undefined || entry.name === dropped.name)) return true;
    }
    return false;
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
    if (this.maxEntries <= 0 || this.#changedSince(epoch, key, entry)) return;
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
