import fs from 'node:fs/promises';
import { Readable } from 'node:stream';
import test, { type ExecutionContext } from 'ava';
import type { BlobStore } from '../../src/cas/blob-store.js';
import { BLOCK_SIZE, CachedBlobStore } from '../../src/cas/cached-blob-store.js';
import { FsBlobStore } from '../../src/cas/fs-blob-store.js';
import { ConfigError, loadConfig } from '../../src/config/config.js';
import { isRegistryError } from '../../src/errors.js';
import { openStorage } from '../../src/storage.js';
import { cephTest, s3Store } from '../helpers/ceph.js';
import { firmwareBytes } from '../helpers/fixtures.js';
import { tempDir } from '../helpers/temp-dir.js';
import { blobStoreContract } from './blob-store-contract.js';

// A cache of four blocks: the contract's blobs are larger, so it runs through evictions too.
const SMALL_CACHE = 4 * BLOCK_SIZE;

blobStoreContract('CachedBlobStore on FsBlobStore', async (t) => {
  const inner = await FsBlobStore.open(await tempDir(t));
  return { store: new CachedBlobStore(inner, SMALL_CACHE), tempEntries: () => fs.readdir(inner.tempDir) };
});

blobStoreContract(
  'CachedBlobStore on S3BlobStore',
  async (t) => {
    const inner = await s3Store(t);
    return { store: new CachedBlobStore(inner, SMALL_CACHE), tempEntries: async () => (await inner.listTemp()).map((entry) => entry.name) };
  },
  cephTest,
);

/** The file-system store with every `read` counted, and held back while `gate` is set. */
async function countedStore(t: ExecutionContext): Promise<{ inner: BlobStore; reads: () => number; hold: () => () => void }> {
  const store = await FsBlobStore.open(await tempDir(t));
  let reads = 0;
  let gate: Promise<void> | undefined;
  const inner = new Proxy(store, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver) as unknown;
      // Bound to the store itself: its private fields are not the proxy's.
      if (property !== 'read') return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      return async (...args: Parameters<BlobStore['read']>) => {
        reads++;
        await gate;
        return target.read(...args);
      };
    },
  });
  const hold = () => {
    let release!: () => void;
    gate = new Promise((resolve) => (release = resolve));
    return () => {
      gate = undefined;
      release();
    };
  };
  return { inner, reads: () => reads, hold };
}

test('CachedBlobStore: a small range read again costs the store no read', async (t) => {
  const { inner, reads } = await countedStore(t);
  const store = new CachedBlobStore(inner, 1 << 20);
  const bytes = firmwareBytes(3 * BLOCK_SIZE);
  const { digest } = await store.put(Readable.from([bytes]));
  const tail = { start: bytes.length - 4096, end: bytes.length - 1 };
  t.true((await store.read(digest, tail)).equals(bytes.subarray(tail.start)));
  t.is(reads(), 1);
  t.true((await store.read(digest, tail)).equals(bytes.subarray(tail.start)));
  t.true((await store.read(digest, { start: tail.start - 10, end: tail.start })).equals(bytes.subarray(tail.start - 10, tail.start + 1)));
  t.is(reads(), 1, 'the same block serves both');
});

test('CachedBlobStore: a range across blocks, and a whole small blob by reader, come back byte for byte', async (t) => {
  const { inner } = await countedStore(t);
  const store = new CachedBlobStore(inner, 1 << 20);
  const bytes = firmwareBytes(2 * BLOCK_SIZE + 123);
  const { digest } = await store.put(Readable.from([bytes]));
  const across = { start: BLOCK_SIZE - 7, end: 2 * BLOCK_SIZE + 5 };
  t.true((await store.read(digest, across)).equals(bytes.subarray(across.start, across.end + 1)));
  const reader = await store.reader(digest);
  const whole = Buffer.alloc(bytes.length + 10);
  t.is(await reader.read(whole, 0), bytes.length);
  t.true(whole.subarray(0, bytes.length).equals(bytes));
  t.is(await reader.read(whole, bytes.length), 0, 'nothing past the end');
  reader.close();
});

test('CachedBlobStore: readHeld gives held bytes at once, nothing it would have to read, and nothing deleted', async (t) => {
  const { inner, reads } = await countedStore(t);
  const store = new CachedBlobStore(inner, 1 << 20);
  const bytes = firmwareBytes(3 * BLOCK_SIZE);
  const { digest } = await store.put(Readable.from([bytes]));
  const tail = { start: bytes.length - 4096, end: bytes.length - 1 };
  t.is(store.readHeld(digest, tail), undefined, 'not read yet');
  await store.read(digest, tail);
  t.true(store.readHeld(digest, tail)?.equals(bytes.subarray(tail.start)));
  const across = { start: 2 * BLOCK_SIZE - 10, end: 2 * BLOCK_SIZE + 9 };
  t.is(store.readHeld(digest, across), undefined, 'one of its blocks is not held');
  await store.read(digest, across);
  t.true(store.readHeld(digest, across)?.equals(bytes.subarray(across.start, across.end + 1)));
  t.is(store.readHeld(digest, { start: 0, end: bytes.length }), undefined, 'past the end');
  t.is(reads(), 2, 'readHeld never reads');
  await store.delete(digest);
  t.is(store.readHeld(digest, tail), undefined);
});

test('CachedBlobStore: a returned buffer is the caller’s; changing it changes nothing cached', async (t) => {
  const { inner } = await countedStore(t);
  const store = new CachedBlobStore(inner, 1 << 20);
  const bytes = firmwareBytes(BLOCK_SIZE);
  const { digest } = await store.put(Readable.from([bytes]));
  (await store.read(digest, { start: 0, end: 99 })).fill(0);
  t.true((await store.read(digest, { start: 0, end: 99 })).equals(bytes.subarray(0, 100)));
});

test('CachedBlobStore: delete drops the blob’s bytes: the next read is BLOB_UNKNOWN', async (t) => {
  const { inner } = await countedStore(t);
  const store = new CachedBlobStore(inner, 1 << 20);
  const { digest } = await store.put(Readable.from([firmwareBytes(BLOCK_SIZE)]));
  await store.read(digest, { start: 0, end: 4095 });
  t.true(store.cachedBytes > 0);
  t.true(await store.delete(digest));
  t.is(store.cachedBytes, 0);
  const error = await t.throwsAsync(store.read(digest, { start: 0, end: 4095 }));
  t.true(isRegistryError(error, 'BLOB_UNKNOWN'));
  await t.throwsAsync(store.reader(digest));
});

test('CachedBlobStore: bytes of a read under way when their blob is deleted are not kept', async (t) => {
  const { inner, hold } = await countedStore(t);
  const store = new CachedBlobStore(inner, 1 << 20);
  const { digest } = await store.put(Readable.from([firmwareBytes(BLOCK_SIZE)]));
  await store.stat(digest);
  const release = hold();
  const reading = store.read(digest, { start: 0, end: 4095 });
  await store.delete(digest);
  release();
  await reading.catch(() => undefined); // the read may see the bytes or their absence: it began first
  t.is(store.cachedBytes, 0);
  const error = await t.throwsAsync(store.read(digest, { start: 0, end: 4095 }));
  t.true(isRegistryError(error, 'BLOB_UNKNOWN'));
});

test('CachedBlobStore: holds at most its size, dropping the least recently used', async (t) => {
  const { inner, reads } = await countedStore(t);
  const store = new CachedBlobStore(inner, 2 * BLOCK_SIZE);
  const blobs = await Promise.all([1, 2, 3].map(async () => (await store.put(Readable.from([firmwareBytes(BLOCK_SIZE)]))).digest));
  const first = { start: 0, end: 99 };
  await store.read(blobs[0]!, first);
  await store.read(blobs[1]!, first);
  await store.read(blobs[0]!, first); // now the most recently used
  await store.read(blobs[2]!, first); // evicts blobs[1]
  t.is(store.cachedBytes, 2 * BLOCK_SIZE);
  const before = reads();
  await store.read(blobs[0]!, first);
  t.is(reads(), before, 'the recently used block stayed');
  await store.read(blobs[1]!, first);
  t.is(reads(), before + 1, 'the least recently used one went');
});

test('CachedBlobStore: large reads and readers of large blobs pass through, keeping nothing', async (t) => {
  const { inner } = await countedStore(t);
  const store = new CachedBlobStore(inner, 64 << 20);
  const bytes = firmwareBytes(2 << 20);
  const { digest } = await store.put(Readable.from([bytes]));
  t.true((await store.read(digest, { start: 0, end: bytes.length - 1 })).equals(bytes));
  const reader = await store.reader(digest);
  const buffer = Buffer.alloc(1 << 20);
  t.is(await reader.read(buffer, 1 << 20), 1 << 20);
  t.true(buffer.equals(bytes.subarray(1 << 20)));
  reader.close();
  t.is(store.cachedBytes, 0);
});

test('CachedBlobStore: a range past the end of the stored blob is BLOB_TRUNCATED', async (t) => {
  const { inner } = await countedStore(t);
  const store = new CachedBlobStore(inner, 1 << 20);
  const { digest } = await store.put(Readable.from([firmwareBytes(1000)]));
  const error = await t.throwsAsync(store.read(digest, { start: 900, end: 1099 }));
  t.true(isRegistryError(error, 'BLOB_TRUNCATED'));
});

test('BLOB_CACHE_BYTES: 64 MiB by default, 0 turns the cache off, anything else is a start-up problem', async (t) => {
  const base = { REGISTRY_DIR: 'unused', REGISTRY_DB: 'unused.db' };
  t.is(loadConfig(base).blobStore.cacheBytes, 64 << 20);
  t.is(loadConfig({ ...base, BLOB_CACHE_BYTES: '0' }).blobStore.cacheBytes, 0);
  t.is(loadConfig({ ...base, BLOB_CACHE_BYTES: '256K' }).blobStore.cacheBytes, 256 << 10);
  const error = t.throws(() => loadConfig({ ...base, BLOB_CACHE_BYTES: 'lots', PORT: 'x' }), { instanceOf: ConfigError });
  t.true(error?.problems.some((problem) => problem.startsWith('BLOB_CACHE_BYTES must be')));
  t.is(error?.problems.length, 2, 'reported with the other problems');

  const dir = await tempDir(t);
  const cached = await openStorage({ kind: 'fs', cacheBytes: 1 << 20 }, dir);
  t.true(cached.store instanceof CachedBlobStore);
  const plain = await openStorage({ kind: 'fs', cacheBytes: 0 }, dir);
  t.true(plain.store instanceof FsBlobStore);
});
