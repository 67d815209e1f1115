import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { S3Client } from '@aws-sdk/client-s3';
import { RegistryError } from '../errors.js';
import { KeyedLock } from '../keyed-lock.js';
import type { BlobReader, BlobStore, ByteRange, Expectation, PutResult, StagedBlob, StoredBlobInfo, TempEntry } from './blob-store.js';
import { digestHex, isDigest, type Digest } from '../digest.js';
import { S3BlobReader } from './s3-blob-reader.js';
import { S3Bucket } from './s3-bucket.js';
import { createS3Agents, createS3Client, DEFAULT_TUNING, type S3Agents, type S3StoreConfig, type S3Tuning } from './s3-config.js';
import { copyWithin } from './s3-copy.js';
import { PresignedGets } from './s3-presigned-gets.js';
import { S3ReadStream, type FetchRange } from './s3-read-stream.js';
import { uploadHashed } from './s3-upload.js';
import { commitStaged, TempStagedBlob } from './staged-blob.js';

/**
 * A temp entry: a staged object (`<uuid>`), or a multipart upload that was never completed
 * (`<key below the prefix>#<upload id>`).
 */
export type S3TempEntry = TempEntry;

/**
 * The object-store blob store: any S3-compatible server. Layout, below `prefix` in one bucket:
 *
 *   sha256/<hex>   one object per distinct content, named by its SHA-256; only ever written by
 *                  a server-side copy of bytes that were hashed and checked
 *   tmp/<uuid>     bytes in flight (streamed there while hashed), and multipart uploads to them
 *
 * Content keys are never written with unverified bytes: a crash at any point leaves a temp
 * object or an open multipart upload, which `sweepTemp` (or gc through `listTemp` and
 * `removeTemp`) removes once older than the grace period.
 */
export class S3BlobStore implements BlobStore {
  /** Measured: a 16 MiB GET piped through is about 15% faster than positional reads of it. */
  readonly largeReads = 'stream';
  /** Commits of one digest, one at a time: of concurrent puts of the same bytes exactly one is new. */
  readonly #commits = new KeyedLock();

  private constructor(
    private readonly client: S3Client,
    private readonly bucket: S3Bucket,
    private readonly prefix: string,
    private readonly tuning: S3Tuning,
    private readonly agents: S3Agents,
  ) {}

  /**
   * A store on `config.bucket`, once the bucket is known to exist and take the credentials:
   * otherwise UNAVAILABLE with `reason` (the bucket does not exist, the credentials are
   * refused, the object store does not answer), the bucket and the endpoint.
   */
  static async open(config: S3StoreConfig): Promise<S3BlobStore> {
    const tuning = { ...DEFAULT_TUNING, ...config.tuning };
    const agents = createS3Agents(tuning);
    const client = createS3Client(config, agents);
    const bucket = new S3Bucket(client, config.bucket, config.endpoint ?? 'AWS S3', new PresignedGets(client, config.bucket, agents));
    try {
      await bucket.check();
    } catch (error) {
      client.destroy();
      agents.http.destroy();
      agents.https.destroy();
      throw error;
    }
    return new S3BlobStore(client, bucket, config.prefix ?? '', tuning, agents);
  }

  /** The bucket exists and takes the credentials: UNAVAILABLE with the reason otherwise. */
  check(): Promise<void> {
    return this.bucket.check();
  }

  /** Closes the connections to the store; no calls after it. */
  close(): void {
    this.client.destroy();
    this.agents.http.destroy();
    this.agents.https.destroy();
  }

  contentKey(digest: Digest): string {
    return `${this.prefix}sha256/${digestHex(digest)}`;
  }

  async stage(source: Readable, expect: Expectation = {}): Promise<StagedBlob> {
    const tempKey = `${this.prefix}tmp/${randomUUID()}`;
    const { digest, size } = await uploadHashed(this.bucket, tempKey, source, expect, this.tuning);
    // A temp object that cannot be deleted now (the store blinked after the commit's copy) is
    // no reason to fail the commit: the sweep of stale temp entries removes it later.
    const remove = () => this.bucket.delete(tempKey).catch(() => undefined);
    return new TempStagedBlob({ adopt: () => this.#adopt(tempKey, digest, size), remove }, digest, size);
  }

  async put(source: Readable, expect?: Expectation): Promise<PutResult> {
    return commitStaged(await this.stage(source, expect));
  }

  /**
   * Copies a staged object to its content key, unless the key holds those bytes already (true).
   * A content key of another size is damage (the digest says what its size must be): the
   * checked copy replaces it.
   */
  #adopt(tempKey: string, digest: Digest, size: number): Promise<boolean> {
    return this.#commits.run(digest, async () => {
      const key = this.contentKey(digest);
      if ((await this.bucket.head(key))?.size === size) return true;
      await copyWithin(this.bucket, tempKey, key, size, this.tuning);
      return false;
    });
  }

  async stat(digest: Digest): Promise<StoredBlobInfo | undefined> {
    const head = await this.bucket.head(this.contentKey(digest));
    // A content key is written once (or replaced by the same bytes): its date is when it was stored.
    return head && { digest, size: head.size, storedAt: head.lastModified.toISOString() };
  }

  async open(digest: Digest, range?: ByteRange, options: { chunkSize?: number } = {}): Promise<Readable> {
    let wanted = range;
    if (wanted === undefined) {
      const head = await this.bucket.head(this.contentKey(digest));
      if (head === undefined) throw unknown(digest);
      wanted = { start: 0, end: head.size - 1 };
    }
    const segments = { first: this.tuning.segmentSize, max: this.tuning.segmentSize };
    const stream = await S3ReadStream.open(this.#fetch(digest), wanted, options.chunkSize ?? 1 << 20, segments);
    if (stream === 'absent') throw unknown(digest);
    return stream;
  }

  async read(digest: Digest, range: ByteRange): Promise<Buffer> {
    const got = await this.bucket.get(this.contentKey(digest), range);
    if (got.kind === 'absent') throw unknown(digest);
    const buffer = Buffer.allocUnsafe(range.end - range.start + 1);
    let filled = 0;
    if (got.kind === 'body') {
      for await (const chunk of got.body as AsyncIterable<Buffer>) filled += chunk.copy(buffer, filled);
    }
    if (filled < buffer.length) {
      throw new RegistryError('BLOB_TRUNCATED', `blob ${digest} ends before byte ${range.start + filled}; run fsck`, { digest });
    }
    return buffer;
  }

  reader(digest: Digest): Promise<BlobReader> {
    return S3BlobReader.open(this.#fetch(digest), digest, this.tuning.segmentSize);
  }

  /** S3 deletes never say whether there was something: a HEAD first does. */
  async delete(digest: Digest): Promise<boolean> {
    const key = this.contentKey(digest);
    if ((await this.bucket.head(key)) === undefined) return false;
    await this.bucket.delete(key);
    return true;
  }

  async *list(): AsyncIterable<Digest> {
    const prefix = `${this.prefix}sha256/`;
    for await (const { key } of this.bucket.listObjects(prefix)) {
      const digest = `sha256:${key.slice(prefix.length)}`;
      if (isDigest(digest)) yield digest;
    }
  }

  /**
   * Staged objects, and multipart uploads below `tmp/` or `sha256/` that were never completed
   * (an upload of bytes in flight, or a large commit's copy), with when each was begun. An
   * upload still running is listed too: callers remove only entries older than a grace period
   * longer than any upload takes.
   */
  async listTemp(): Promise<S3TempEntry[]> {
    const entries: S3TempEntry[] = [];
    const tempPrefix = `${this.prefix}tmp/`;
    for await (const { key, lastModified } of this.bucket.listObjects(tempPrefix)) {
      entries.push({ name: key.slice(tempPrefix.length), modifiedAt: lastModified.getTime() });
    }
    // Only below this store's own folders: a shared bucket may hold other programs' uploads.
    for (const folder of ['tmp/', 'sha256/']) {
      for await (const { key, uploadId, initiated } of this.bucket.listUploads(this.prefix + folder)) {
        entries.push({ name: `${key.slice(this.prefix.length)}#${uploadId}`, modifiedAt: initiated.getTime() });
      }
    }
    return entries;
  }

  /** Removes one entry of `listTemp`: deletes a staged object, or aborts an upload. Never a blob. */
  async removeTemp(name: string): Promise<void> {
    const hash = name.indexOf('#');
    if (hash >= 0) return this.bucket.abortUpload(this.prefix + name.slice(0, hash), name.slice(hash + 1));
    if (name.includes('/') || name === '') throw new Error(`${name} is not a temp entry of this store`);
    await this.bucket.delete(`${this.prefix}tmp/${name}`);
  }

  /** Removes every temp entry begun before `cutoff` (ms since the epoch): for start-up, after a crash. */
  async sweepTemp(cutoff: number): Promise<string[]> {
    const stale = (await this.listTemp()).filter((entry) => entry.modifiedAt < cutoff);
    for (const entry of stale) await this.removeTemp(entry.name);
    return stale.map((entry) => entry.name);
  }

  #fetch(digest: Digest): FetchRange {
    const key = this.contentKey(digest);
    return (range, signal) => this.bucket.get(key, range, signal);
  }
}

function unknown(digest: Digest): RegistryError {
  return new RegistryError('BLOB_UNKNOWN', `no blob ${digest} in the store`, { digest });
}
