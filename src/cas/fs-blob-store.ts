import { randomUUID } from 'node:crypto';
import { fstat as fstatCallback, read } from 'node:fs';
import { promisify } from 'node:util';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { isErrnoCode, RegistryError } from '../errors.js';
import type { BlobReader, BlobStore, ByteRange, Expectation, PutResult, StagedBlob, StoredBlobInfo, TempEntry } from './blob-store.js';
import { DescriptorCache, type Lease } from './descriptor-cache.js';
import { digestHex, isDigest, type Digest } from '../digest.js';
import { fsyncDir } from '../fsync-dir.js';
import { linkCreatingParent, receiveToTemp, removeQuietly } from './fs-staging.js';
import { PositionalReadStream } from './positional-read-stream.js';
import { commitStaged, TempStagedBlob } from './staged-blob.js';

const fstat = promisify(fstatCallback);

/**
 * The file-system blob store. Layout under `root` (the registry data folder):
 *
 *   .blobs/sha256/ab/ab12…ef   one read-only file per distinct content, named by its SHA-256
 *   .tmp/<uuid>                 bytes in flight; never read by anyone but their writer
 *
 * `.tmp` and `.blobs` are on one file system, so a staged file becomes a blob with `link(2)`,
 * which never replaces an existing name: EEXIST means the same bytes are already stored.
 */
export class FsBlobStore implements BlobStore {
  readonly largeReads = 'reader';
  readonly blobsDir: string;
  readonly tempDir: string;
  readonly #descriptors = new DescriptorCache();

  private constructor(readonly root: string) {
    this.blobsDir = path.join(root, '.blobs', 'sha256');
    this.tempDir = path.join(root, '.tmp');
  }

  static async open(root: string): Promise<FsBlobStore> {
    const store = new FsBlobStore(path.resolve(root));
    await fs.mkdir(store.blobsDir, { recursive: true });
    await fs.mkdir(store.tempDir, { recursive: true });
    return store;
  }

  /**
   * The store in `root` as it is, creating nothing: for checks that only read (fsck), which
   * may run on a backup that has no `.tmp`. A missing `.blobs` or `.tmp` lists as empty.
   */
  static async openExisting(root: string): Promise<FsBlobStore> {
    const store = new FsBlobStore(path.resolve(root));
    await fs.access(store.root);
    return store;
  }

  /** Where a blob's bytes live; file-system callers hard-link to it. */
  pathOf(digest: Digest): string {
    const hex = digestHex(digest);
    return path.join(this.blobsDir, hex.slice(0, 2), hex);
  }

  /** A fresh name in the temp folder for a writer that is not a blob (a link being placed). */
  tempPath(suffix: string): string {
    return path.join(this.tempDir, `${randomUUID()}.${suffix}`);
  }

  async stage(source: Readable, expect: Expectation = {}): Promise<StagedBlob> {
    const tempPath = this.tempPath('blob');
    const { digest, size } = await receiveToTemp(tempPath, source, expect);
    return new TempStagedBlob({ adopt: () => this.#adopt(tempPath, digest), remove: () => removeQuietly(tempPath) }, digest, size);
  }

  async put(source: Readable, expect?: Expectation): Promise<PutResult> {
    return commitStaged(await this.stage(source, expect));
  }

  /** Links a staged temp file under its digest. EEXIST: those bytes are already stored. */
  async #adopt(tempPath: string, digest: Digest): Promise<boolean> {
    const blobPath = this.pathOf(digest);
    try {
      await linkCreatingParent(tempPath, blobPath);
    } catch (error) {
      if (isErrnoCode(error, 'EEXIST')) return true;
      throw error;
    }
    await fsyncDir(path.dirname(blobPath));
    return false;
  }

  async stat(digest: Digest): Promise<StoredBlobInfo | undefined> {
    try {
      const stats = await fs.stat(this.pathOf(digest));
      // A blob is never modified after it is linked in: its mtime is when it was stored.
      return { digest, size: stats.size, storedAt: stats.mtime.toISOString() };
    } catch (error) {
      if (isErrnoCode(error, 'ENOENT')) return undefined;
      throw error;
    }
  }

  async open(digest: Digest, range?: ByteRange, options: { chunkSize?: number } = {}): Promise<Readable> {
    const lease = await this.#lease(digest);
    let end = range?.end;
    if (end === undefined) {
      try {
        end = (await fstat(lease.fd)).size - 1;
      } catch (error) {
        lease.release();
        throw error;
      }
    }
    const stream = new PositionalReadStream(lease.fd, range?.start ?? 0, end, options.chunkSize ?? 1 << 20);
    stream.once('close', lease.release);
    return stream;
  }

  async read(digest: Digest, range: ByteRange): Promise<Buffer> {
    const reader = await this.reader(digest);
    try {
      const buffer = Buffer.allocUnsafe(range.end - range.start + 1);
      for (let filled = 0; filled < buffer.length; ) {
        const bytesRead = await reader.read(buffer.subarray(filled), range.start + filled);
        if (bytesRead === 0) {
          throw new RegistryError('BLOB_TRUNCATED', `blob ${digest} ends before byte ${range.start + filled}; run fsck`, { digest });
        }
        filled += bytesRead;
      }
      return buffer;
    } finally {
      reader.close();
    }
  }

  async reader(digest: Digest): Promise<BlobReader> {
    const { fd, release } = await this.#lease(digest);
    let closed = false;
    return {
      read: (buffer, position, length = buffer.length) =>
        closed ? Promise.reject(new Error(`reader of ${digest} is closed`)) : readAt(fd, buffer, length, position),
      close: () => {
        closed = true;
        release();
      },
    };
  }

  async delete(digest: Digest): Promise<boolean> {
    this.#descriptors.forget(digest);
    try {
      await fs.unlink(this.pathOf(digest));
      return true;
    } catch (error) {
      if (isErrnoCode(error, 'ENOENT')) return false;
      throw error;
    }
  }

  async #lease(digest: Digest): Promise<Lease> {
    try {
      return await this.#descriptors.acquire(digest, () => this.pathOf(digest));
    } catch (error) {
      if (isErrnoCode(error, 'ENOENT')) {
        throw new RegistryError('BLOB_UNKNOWN', `no blob ${digest} in the store`, { digest });
      }
      throw error;
    }
  }

  async *list(): AsyncIterable<Digest> {
    for (const shard of await readdirOrNone(this.blobsDir)) {
      let names: string[];
      try {
        names = await fs.readdir(path.join(this.blobsDir, shard));
      } catch (error) {
        if (isErrnoCode(error, 'ENOTDIR', 'ENOENT')) continue;
        throw error;
      }
      for (const hex of names) {
        const digest = `sha256:${hex}`;
        if (hex.startsWith(shard) && isDigest(digest)) yield digest;
      }
    }
  }

  /** The temp folder takes writes: UNAVAILABLE with the errno otherwise. */
  async check(): Promise<void> {
    try {
      await fs.access(this.tempDir, fs.constants.W_OK);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? 'unknown';
      throw new RegistryError('UNAVAILABLE', `the data folder does not take writes (${code})`, { cause: code }, { cause: error });
    }
  }

  /** What is in the temp folder, with when each entry was last written to. */
  async listTemp(): Promise<TempEntry[]> {
    const names = await readdirOrNone(this.tempDir);
    const entries = await Promise.all(
      names.map(async (name) => {
        try {
          return { name, modifiedAt: (await fs.stat(path.join(this.tempDir, name))).mtimeMs };
        } catch (error) {
          if (isErrnoCode(error, 'ENOENT')) return undefined; // finished meanwhile
          throw error;
        }
      }),
    );
    return entries.filter((entry) => entry !== undefined);
  }

  async removeTemp(name: string): Promise<void> {
    await fs.rm(path.join(this.tempDir, path.basename(name)), { force: true, recursive: true });
  }

  /** Removes every leftover in the temp folder. Only safe before anything is in flight. */
  async emptyTemp(): Promise<number> {
    const names = await fs.readdir(this.tempDir);
    await Promise.all(names.map((name) => fs.rm(path.join(this.tempDir, name), { force: true, recursive: true })));
    return names.length;
  }
}

/** A folder's entries; none when the folder is not there (a store opened with openExisting). */
async function readdirOrNone(dir: string): Promise<string[]> {
  try {
    return await fs.readdir(dir);
  } catch (error) {
    if (isErrnoCode(error, 'ENOENT')) return [];
    throw error;
  }
}

function readAt(fd: number, buffer: Buffer, length: number, position: number): Promise<number> {
  return new Promise((resolve, reject) => read(fd, buffer, 0, length, position, (error, bytesRead) => (error ? reject(error) : resolve(bytesRead))));
}
