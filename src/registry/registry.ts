import type { BlobStore, StagedBlob } from '../cas/blob-store.js';
import type { Digest } from '../digest.js';
import { checkExpectation } from '../cas/expectation.js';
import { RegistryError } from '../errors.js';
import type { Metadata } from '../firmware/metadata.js';
import type { Labels } from '../firmware/labels.js';
import type { FirmwareIndex, FirmwareRecord, IndexStats } from '../index/firmware-index.js';
import { KeyedLock } from '../keyed-lock.js';
import type { Logger } from '../log.js';
import { collectGarbage, type GarbageOptions, type GarbageReport } from './garbage.js';
import { repairTree, type RepairReport } from './repair.js';
import { indexFilter, inRange, updateFor, type VersionQuery } from './version-query.js';
import type { VersionView } from './version-view.js';

export interface RegistryDeps {
  store: BlobStore;
  index: FirmwareIndex;
  /** A browsable view kept beside the store (the file-system tree); none with an object store. */
  view?: VersionView;
  log: Logger;
  now?: () => Date;
}

export interface PublishResult {
  record: FirmwareRecord;
  /** False when this exact name, version and content was already published. */
  created: boolean;
  /** True when the store already held these bytes. */
  deduplicated: boolean;
}

export interface BlobDescription {
  digest: Digest;
  size: number;
  /** Publish time of the first version with these bytes, else when the store got them. */
  since: string;
}

/**
 * The only module that uses both the blob store and the index: it sequences every change so
 * that content is written before the pointer to it, and the pointer before the view.
 */
export class Registry {
  /** Held while one name+version is being published. */
  readonly #versions = new KeyedLock();
  readonly #now: () => Date;
  #changes = 0;
  /** Version links being made or removed. */
  readonly #viewInFlight = new Set<Promise<unknown>>();

  constructor(private readonly deps: RegistryDeps) {
    this.#now = deps.now ?? (() => new Date());
    // Every change that becomes visible moves the counter, this registry's or (with a shared
    // index) another's: readers that keep derived state drop it when it moves.
    deps.index.onChange(() => this.#changes++);
    // Start-up repairs the links of journalled changes only: a change may leave the journal
    // for a snapshot once the link work begun for it has ended.
    deps.index.beforeSnapshot(() => this.viewSettled());
  }

  /** Resolves once the version-link work in flight now has ended (made or failed). */
  async viewSettled(): Promise<void> {
    await Promise.allSettled([...this.#viewInFlight]);
  }

  #viewWork<T>(work: Promise<T>): Promise<T> {
    this.#viewInFlight.add(work);
    const forget = () => this.#viewInFlight.delete(work);
    work.then(forget, forget);
    return work;
  }

  /**
   * Publishes staged bytes as `name@version` (SPEC §1, write order):
   *   1. refuse what can never be published: empty bytes, bytes that are not as declared;
   *   2. under the name+version lock, answer from an existing row: same digest is a retry
   *      (not created), another digest is VERSION_EXISTS and nothing changes;
   *   3. under the digest lock, commit the blob (already stored = deduplicated) and insert the
   *      row, durably (the index journals it before anyone sees it), so a collection of
   *      unreferenced blobs never sees the one in between; if the insert fails, nothing is
   *      published and the blob is unreferenced (gc removes it);
   *   4. with a version view, link `<name>/<version>/firmware.bin` to the blob (repaired at
   *      start-up).
   * The staged bytes are always released, whatever happens.
   */
  async publish(metadata: Metadata, staged: StagedBlob): Promise<PublishResult> {
    try {
      if (staged.size === 0) throw new RegistryError('FIRMWARE_EMPTY', 'the firmware file is empty');
      checkExpectation(staged, metadata);
      return await this.#publishVersion(metadata, staged.digest, async () => staged.commit());
    } finally {
      await staged.discard();
    }
  }

  /**
   * Publishes bytes the store already holds, named by the declared digest, without sending
   * them again (publish by digest). BLOB_UNKNOWN when the store does not have them: the
   * client then sends the bytes. Otherwise as `publish`, and always deduplicated.
   */
  async publishStored(metadata: Metadata): Promise<PublishResult> {
    const { digest } = metadata;
    if (!digest) throw new RegistryError('FIRMWARE_MISSING', 'the "firmware" file part is missing, and no sha256 names stored bytes');
    return this.#publishVersion(metadata, digest, async () => {
      const stored = await this.deps.store.stat(digest);
      if (!stored) {
        throw new RegistryError('BLOB_UNKNOWN', `the registry does not have ${digest}: send the firmware part`, { digest });
      }
      checkExpectation(stored, metadata);
      if (stored.size === 0) throw new RegistryError('FIRMWARE_EMPTY', 'the stored bytes are empty');
      return { size: stored.size, deduplicated: true };
    });
  }

  async #publishVersion(metadata: Metadata, digest: Digest, placeBlob: () => Promise<{ size: number; deduplicated: boolean }>): Promise<PublishResult> {
    const { index, log } = this.deps;
    const { name, version } = metadata;
    return this.#versions.run(`${name}@${version}`, async () => {
      const existing = await index.find(name, version);
      if (existing) {
        if (existing.digest !== digest) throw versionExists(existing, digest);
        return { record: existing, created: false, deduplicated: true };
      }

      // The row is inserted while the digest lock is held, and is durable (and visible) when
      // the insert resolves: gc, which decides under the same lock, never sees the bytes
      // placed but not yet referenced.
      const placed = await index.withDigestLock(digest, async (): Promise<{ record: FirmwareRecord; deduplicated: boolean; lost?: true }> => {
        const bytes = await placeBlob();
        const createdAt = metadata.createdAt ?? this.#now().toISOString();
        const row: FirmwareRecord = { name, version, size: bytes.size, digest, labels: metadata.labels, createdAt };
        await index.insert(row);
        return { record: row, deduplicated: bytes.deduplicated };
      }).catch(async (error: unknown) => {
        // Another registry sharing the index published the version first: the index decided.
        // Same bytes is a retry, as above; other bytes stay refused.
        if (!(error instanceof RegistryError) || error.code !== 'VERSION_EXISTS') throw error;
        const winner = await index.find(name, version);
        if (!winner) throw error;
        if (winner.digest !== digest) throw versionExists(winner, digest);
        return { record: winner, deduplicated: true, lost: true };
      });
      if ('lost' in placed) return { record: placed.record, created: false, deduplicated: true };
      const { record, deduplicated } = placed;

      await this.#viewWork(this.#link(record)).catch((error: unknown) => {
        log.error({ err: error, name, version }, 'published, but the version link could not be made; a start with REPAIR_TREE=all re-makes it');
      });
      return { record, created: true, deduplicated };
    });
  }

  /**
   * Counts changes to what is published that became visible, this registry's and, with a
   * shared index, other registries'. Readers that keep derived state (cached download
   * headers, update answers) drop it when this moves.
   */
  get changes(): number {
    return this.#changes;
  }

  find(name: string, version: string): Promise<FirmwareRecord | undefined> {
    return this.deps.index.find(name, version);
  }

  /** Removes what no published version needs (see garbage.ts). */
  collectGarbage(options: GarbageOptions = {}): Promise<GarbageReport> {
    const { store, index, view } = this.deps;
    return collectGarbage({ store, index, view, now: () => this.#now().getTime() }, options);
  }

  /** Size of a published digest and when it was first published, from the index alone. */
  async describePublishedBlob(digest: Digest): Promise<BlobDescription | undefined> {
    const published = await this.deps.index.firstPublished(digest);
    return published && { digest, size: published.size, since: published.createdAt };
  }

  /**
   * What is known about a digest's bytes: as `describePublishedBlob`, or for bytes the store
   * holds but no version names, since when they are stored. `undefined` when not held at all.
   */
  async describeBlob(digest: Digest): Promise<BlobDescription | undefined> {
    const published = await this.describePublishedBlob(digest);
    if (published) return published;
    const stored = await this.deps.store.stat(digest);
    return stored && { digest, size: stored.size, since: stored.storedAt };
  }

  /** Every record the query matches: by name, then SemVer precedence, highest first. */
  async list(query: VersionQuery = { labels: [], prerelease: true }): Promise<FirmwareRecord[]> {
    return inRange(await this.deps.index.list(indexFilter(query)), query);
  }

  /** The highest version of `name` the query matches, or `undefined`. */
  async latest(name: string, query: VersionQuery): Promise<FirmwareRecord | undefined> {
    const named = { ...query, name };
    // Without a range, the index's order answers alone: one row.
    if (named.range === undefined) return (await this.deps.index.list(indexFilter(named), 1))[0];
    return (await this.list(named))[0];
  }

  /** The update for a device of `name` on `current` (see `updateFor`), or `undefined`. */
  async update(name: string, current: string, query: VersionQuery): Promise<FirmwareRecord | undefined> {
    const latest = await this.latest(name, query);
    return latest && updateFor(current, [latest]);
  }

  /**
   * Replaces the labels of a published version (promotion: beta → stable), durably before it
   * returns. NOT_FOUND when the version is not published.
   */
  async relabel(name: string, version: string, labels: Labels): Promise<FirmwareRecord> {
    const { index } = this.deps;
    return this.#versions.run(`${name}@${version}`, async () => {
      const before = await this.resolve(name, version);
      await index.relabel(name, version, labels);
      return { ...before, labels };
    });
  }

  /**
   * Withdraws a published version (NOT_FOUND if it is not):
   *   1. remove the row, durably (until the removal is on disk, the version stays published
   *      for readers and for gc);
   *   2. with a version view, remove `<name>/<version>/firmware.bin`;
   *   3. under the digest lock, remove the blob when no version references it any more.
   * A crash after step 1 leaves an unreferenced blob or link; `gc` removes those.
   */
  async unpublish(name: string, version: string): Promise<FirmwareRecord> {
    const { index, store, view, log } = this.deps;
    const record = await this.#versions.run(`${name}@${version}`, async () => {
      const found = await this.resolve(name, version);
      await index.remove(name, version);
      return found;
    });
    if (view) await this.#viewWork(view.unlink(name, version)).catch((error: unknown) => log.error({ err: error, name, version }, 'version link not removed; gc removes it'));
    await index.withDigestLock(record.digest, async () => {
      if (!(await index.isReferenced(record.digest))) await store.delete(record.digest);
    });
    return record;
  }

  /** The record of `name@version`; NOT_FOUND when it is not published. */
  async resolve(name: string, version: string): Promise<FirmwareRecord> {
    const record = await this.find(name, version);
    if (!record) {
      throw new RegistryError('NOT_FOUND', `firmware ${name} ${version} is not published`, { name, version });
    }
    return record;
  }

  stats(): Promise<IndexStats> {
    return this.deps.index.stats();
  }

  /**
   * Whether the registry can serve and take uploads: the index answers and the blob store
   * answers and takes writes, both asked at once. UNAVAILABLE otherwise, naming each
   * dependency that is down (`down`: "index" or the index's own name, such as "postgresql";
   * "blob store") and why.
   */
  async health(): Promise<{ versions: number }> {
    const [index, store] = await Promise.allSettled([this.deps.index.count(), this.deps.store.check()]);
    if (index.status === 'fulfilled' && store.status === 'fulfilled') return { versions: index.value };
    const down: string[] = [];
    const reasons: string[] = [];
    for (const [result, fallback] of [[index, 'index'], [store, 'blob store']] as const) {
      if (result.status === 'fulfilled') continue;
      const error: unknown = result.reason;
      const named = error instanceof RegistryError ? error.details.dependency : undefined;
      down.push(typeof named === 'string' ? named : fallback);
      reasons.push(error instanceof Error ? error.message : String(error));
    }
    const cause = index.status === 'rejected' ? index.reason : store.status === 'rejected' ? store.reason : undefined;
    throw new RegistryError('UNAVAILABLE', `not ready: ${down.map((name, i) => `${name} (${reasons[i]})`).join('; ')}`, { dependency: down[0] ?? 'index', down }, { cause });
  }

  /**
   * Re-makes version links that are missing or do not point at their blob, and removes the
   * links of removed versions: for `only` the given versions (those the journal replayed at
   * start-up), else for every version (see repair.ts). Never fails over the view; without a
   * view there is nothing to repair.
   */
  async repairTree(only?: { name: string; version: string }[]): Promise<RepairReport> {
    const { index, store, view } = this.deps;
    if (!view) return { checked: 0, relinked: 0, unlinked: 0, missingBlobs: [], failed: [] };
    return repairTree({ index, store, view }, only);
  }

  async #link(record: FirmwareRecord): Promise<void> {
    await this.deps.view?.link(record);
  }
}

function versionExists(existing: FirmwareRecord, uploaded: Digest): RegistryError {
  return new RegistryError(
    'VERSION_EXISTS',
    `${existing.name} ${existing.version} is already published with other bytes; publish a new version instead`,
    { name: existing.name, version: existing.version, published: existing.digest, uploaded },
  );
}
