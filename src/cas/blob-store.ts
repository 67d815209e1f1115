import type { Readable } from 'node:stream';
import type { Digest } from '../digest.js';

/**
 * The contract every blob store keeps. A blob store knows bytes and their digests; it never
 * knows names, versions or labels. The file-system store is the default; an object-store
 * one will follow, so nothing file-system specific (paths, hard links) belongs here.
 *
 * Every implementation runs `test/cas/blob-store-contract.ts`.
 */
export interface BlobStore {
  /**
   * How a large range is best sent: `reader`, by positional reads into the sender's own
   * buffers (a file: no allocation per chunk, the next read while the last chunk drains);
   * `stream`, as one stream piped to the client (an object store, where every read is a GET
   * and the response's own buffers are passed on as they arrive).
   */
  readonly largeReads: 'reader' | 'stream';

  /**
   * Streams `source` to a private temporary place while hashing it, and makes it durable.
   * Nothing is visible under its digest until `commit()`.
   *
   * Rejects, keeping nothing, with:
   * - DigestMismatchError / SizeMismatchError when `expect` is given and the bytes differ;
   * - TooLargeError as soon as more than `expect.maxBytes` bytes arrive (the rest is not read);
   * - the source's own error when it fails or is destroyed before its end.
   */
  stage(source: Readable, expect?: Expectation): Promise<StagedBlob>;

  /** `stage` then `commit` in one call. Same failures as `stage`. */
  put(source: Readable, expect?: Expectation): Promise<PutResult>;

  /** Size and age of a stored blob, or `undefined` when the store does not have it. */
  stat(digest: Digest): Promise<StoredBlobInfo | undefined>;

  /**
   * A stream of the blob's bytes, or of `range` (inclusive `start`..`end`, already checked
   * against the size by the caller), in chunks of about `chunkSize` bytes. Destroying the
   * stream releases whatever it holds. Rejects with BLOB_UNKNOWN when the blob is absent.
   */
  open(digest: Digest, range?: ByteRange, options?: { chunkSize?: number }): Promise<Readable>;

  /**
   * The bytes of `range` in one buffer: for small ranges, where a stream costs more than the
   * read. Rejects with BLOB_UNKNOWN when the blob is absent, and with BLOB_TRUNCATED when it
   * ends before the range does.
   */
  read(digest: Digest, range: ByteRange): Promise<Buffer>;

  /**
   * The bytes of `range` when the store holds them in memory now (a cache in front of a
   * store), at once and without any I/O; `undefined` when they would have to be read. The
   * buffer may be the store's own: never write to it. Stores without memory do not have it.
   */
  readHeld?(digest: Digest, range: ByteRange): Buffer | undefined;

  /**
   * Opens a blob for reads at any position into buffers the caller owns (and may reuse), for
   * sending large bodies without a fresh buffer per chunk. Close the reader when done.
   * Rejects with BLOB_UNKNOWN when the blob is absent.
   */
  reader(digest: Digest): Promise<BlobReader>;

  /** Removes a blob. Resolves `false` when it was not there. */
  delete(digest: Digest): Promise<boolean>;

  /** Every stored digest, in no particular order. */
  list(): AsyncIterable<Digest>;

  /**
   * Resolves when the store answers and takes writes (health checks). Rejects with UNAVAILABLE
   * and `reason` otherwise; never changes anything.
   */
  check(): Promise<void>;

  /**
   * What is in the temp area: uploads in flight, and what crashed ones left, with when each
   * was begun. Callers remove only entries older than a grace period longer than any upload.
   */
  listTemp(): Promise<TempEntry[]>;

  /** Removes one entry of `listTemp`; never a blob. Removing one that is gone succeeds. */
  removeTemp(name: string): Promise<void>;
}

export interface TempEntry {
  /** Opaque to callers: what `removeTemp` takes. */
  name: string;
  /** When the entry was begun or last written, in ms since the epoch. */
  modifiedAt: number;
}

export interface BlobReader {
  /** Reads up to `length` bytes at `position` into the start of `buffer`; 0 past the end. */
  read(buffer: Buffer, position: number, length?: number): Promise<number>;
  /** Releases what the reader holds. Safe to call more than once; no reads after it. */
  close(): void;
}

export interface Expectation {
  digest?: Digest;
  size?: number;
  maxBytes?: number;
}

export interface BlobInfo {
  digest: Digest;
  size: number;
}

export interface StoredBlobInfo extends BlobInfo {
  /** When the store first held these bytes, ISO-8601 UTC. */
  storedAt: string;
}

export interface PutResult extends BlobInfo {
  /** True when the store already held these bytes; the new copy was dropped. */
  deduplicated: boolean;
}

export interface ByteRange {
  start: number;
  end: number;
}

/** Bytes that are hashed, durable and checked, but not yet visible under their digest. */
export interface StagedBlob extends BlobInfo {
  /**
   * Makes the blob visible under its digest. Committing bytes the store already has
   * succeeds with `deduplicated: true`. After commit, `discard` does nothing.
   */
  commit(): Promise<PutResult>;

  /** Drops the staged bytes. Safe to call more than once, and after `commit`. */
  discard(): Promise<void>;
}
