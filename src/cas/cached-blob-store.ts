import type { Readable } from 'node:stream';
import { RegistryError } from '../errors.js';
import type { BlobReader, BlobStore, ByteRange, Expectation, PutResult, StagedBlob, StoredBlobInfo, TempEntry } from './blob-store.js';
import type { Digest } from '../digest.js';
import { BlockCache } from './block-cache.js';

/** Bytes per cached block: a 4 KiB range costs one block's read once, then none. */
export const BLOCK_SIZE = 64 * 1024;
/** Larger reads, and readers of larger blobs, go to the store: one download must not flush the cache. */
const MAX_CACHED_READ = 1024 * 1024;

/**
 * A BlobStore that keeps hot bytes of another in memory, at most `maxBytes` of them, the least
 * recently used evicted first. What it keeps: aligned blocks of BLOCK_SIZE bytes that small
 * reads (`read` of up to 1 MiB, `reader` of a blob of up to 1 MiB) touched, and each such blob's
 * size. On an object store this saves the round trip of every small range after the first.
 *
 * Blobs are named by their content, so a cached block can never be stale, only deleted:
 * `delete` drops every block of the blob, and a block whose read began before a delete is
 * not kept. (Another process deleting from a shared store is not seen; the registry reads
 * only blobs its index references, and gc deletes only unreferenced ones.)
 *
 * Everything else passes through: uploads, `stat`, `list`, and `open` (which fsck uses to
 * re-hash the stored bytes themselves).
 */
export class CachedBlobStore implements BlobStore {
  readonly #blocks: BlockCache;
  // Large reads pass through to the store, which knows how they go best.
  get largeReads(): 'reader' | 'stream' {
    return this.inner.largeReads;
  }
  readonly #sizes = new Map<Digest, number>();

  constructor(
    readonly inner: BlobStore,
    maxBytes: number,
  ) {
    this.#blocks = new BlockCache(maxBytes);
  }

  /** Bytes held now. */
  get cachedBytes(): number {
    return this.#blocks.bytes;
  }

  stage(source: Readable, expect?: Expectation): Promise<StagedBlob> {
    return this.inner.stage(source, expect);
  }

  put(source: Readable, expect?: Expectation): Promise<PutResult> {
    return this.inner.put(source, expect);
  }

  stat(digest: Digest): Promise<StoredBlobInfo | undefined> {
    return this.inner.stat(digest);
  }

  open(digest: Digest, range?: ByteRange, options?: { chunkSize?: number }): Promise<Readable> {
    return this.inner.open(digest, range, options);
  }

  async read(digest: Digest, range: ByteRange): Promise<Buffer> {
    if (range.end - range.start + 1 > MAX_CACHED_READ) return this.inner.read(digest, range);
    const size = await this.#size(digest);
    if (range.end >= size) {
      throw new RegistryError('BLOB_TRUNCATED', `blob ${digest} ends before byte ${range.end}; run fsck`, { digest });
    }
    const out = Buffer.allocUnsafe(range.end - range.start + 1);
    await this.#copy(digest, size, range.start, out, 0, out.length);
    return out;
  }

  /**
   * The bytes of a small range when every block of it is held: the block's own memory when the
   * range lies in one block (no copy: blocks are never written to), else a copy.
   */
  readHeld(digest: Digest, range: ByteRange): Buffer | undefined {
    const size = this.#sizes.get(digest);
    if (size === undefined || range.end >= size || range.end - range.start + 1 > MAX_CACHED_READ) return undefined;
    const first = Math.floor(range.start / BLOCK_SIZE);
    const last = Math.floor(range.end / BLOCK_SIZE);
    if (first === last) {
      const offset = first * BLOCK_SIZE;
      return this.#blocks.peek(`${digest}/${first}`)?.subarray(range.start - offset, range.end - offset + 1);
    }
    const blocks: Buffer[] = [];
    for (let index = first; index <= last; index++) {
      const block = this.#blocks.peek(`${digest}/${index}`);
      if (!block) return undefined;
      blocks.push(block);
    }
    const skip = range.start - first * BLOCK_SIZE;
    return Buffer.concat(blocks).subarray(skip, skip + range.end - range.start + 1);
  }

  async reader(digest: Digest): Promise<BlobReader> {
    const size = await this.#size(digest);
    if (size > MAX_CACHED_READ) return this.inner.reader(digest);
    return {
      read: async (buffer, position, length = buffer.length) => {
        const wanted = Math.max(0, Math.min(length, buffer.length, size - position));
        await this.#copy(digest, size, position, buffer, 0, wanted);
        return wanted;
      },
      close: () => {},
    };
  }

  async delete(digest: Digest): Promise<boolean> {
    this.#forget(digest);
    try {
      return await this.inner.delete(digest);
    } finally {
      this.#forget(digest); // a read that raced the delete
    }
  }

  list(): AsyncIterable<Digest> {
    return this.inner.list();
  }

  check(): Promise<void> {
    return this.inner.check();
  }

  listTemp(): Promise<TempEntry[]> {
    return this.inner.listTemp();
  }

  removeTemp(name: string): Promise<void> {
    return this.inner.removeTemp(name);
  }

  /** The blob's size, asked of the store once: BLOB_UNKNOWN when it does not have the blob. */
  async #size(digest: Digest): Promise<number> {
    const known = this.#sizes.get(digest);
    if (known !== undefined) return known;
    const generation = this.#blocks.generation;
    const stat = await this.inner.stat(digest);
    if (!stat) throw new RegistryError('BLOB_UNKNOWN', `no blob ${digest} in the store`, { digest });
    if (generation === this.#blocks.generation) {
      if (this.#sizes.size >= 65_536) this.#sizes.delete(this.#sizes.keys().next().value as Digest);
      this.#sizes.set(digest, stat.size);
    }
    return stat.size;
  }

  /** Copies `length` bytes of the blob from `position` into `target` at `offset`, block by block. */
  async #copy(digest: Digest, size: number, position: number, target: Buffer, offset: number, length: number): Promise<void> {
    let copied = 0;
    while (copied < length) {
      const at = position + copied;
      const index = Math.floor(at / BLOCK_SIZE);
      const block = await this.#blocks.get(`${digest}/${index}`, () => {
        const start = index * BLOCK_SIZE;
        return this.inner.read(digest, { start, end: Math.min(start + BLOCK_SIZE, size) - 1 });
      });
      const from = at - index * BLOCK_SIZE;
      copied += block.copy(target, offset + copied, from, Math.min(block.length, from + length - copied));
    }
  }

  #forget(digest: Digest): void {
    this.#sizes.delete(digest);
    this.#blocks.drop(`${digest}/`);
  }
}
