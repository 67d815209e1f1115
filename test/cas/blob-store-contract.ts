import { Readable } from 'node:stream';
import test, { type ExecutionContext } from 'ava';
import type { BlobStore } from '../../src/cas/blob-store.js';
import { parseDigest, type Digest } from '../../src/digest.js';
import { isRegistryError } from '../../src/errors.js';
import { firmwareBytes, sha256 } from '../helpers/fixtures.js';

/** ava's `test`, or `test.skip` where the store's server cannot run here. */
type Register = (title: string, implementation: (t: ExecutionContext) => Promise<void>) => void;

export interface StoreUnderTest {
  store: BlobStore;
  /** Whatever the store holds in its private temp area. Must be empty between operations. */
  tempEntries(): Promise<string[]>;
}

/**
 * The behaviour every BlobStore implementation must show (src/cas/blob-store.ts). Each case
 * ends by checking the store's temp area is empty: no operation, failed or not, leaves
 * anything behind. Cases are registered with `register`.
 */
export function blobStoreContract(implementation: string, open: (t: ExecutionContext) => Promise<StoreUnderTest>, register: Register = test): void {
  const contract = (title: string, body: (t: ExecutionContext, store: BlobStore) => Promise<void>) =>
    register(`${implementation}: ${title}`, async (t) => {
      const { store, tempEntries } = await open(t);
      await body(t, store);
      t.deepEqual(await tempEntries(), [], 'the temp area is empty afterwards');
    });

  contract('put stores bytes under their SHA-256 and gives them back', async (t, store) => {
    const bytes = firmwareBytes(300_000);
    const put = await store.put(from(bytes));
    t.is(put.digest, sha256(bytes));
    t.is(put.size, bytes.length);
    t.false(put.deduplicated);
    t.like(await store.stat(put.digest), { digest: put.digest, size: bytes.length });
    t.true(bytes.equals(await readAll(await store.open(put.digest))));
  });

  contract('stat tells when the bytes were stored', async (t, store) => {
    const before = Date.now() - 2000;
    const { digest } = await store.put(from(firmwareBytes()));
    const storedAt = Date.parse((await store.stat(digest))?.storedAt ?? '');
    t.true(storedAt >= before && storedAt <= Date.now() + 2000, String(storedAt));
  });

  contract('put of bytes already stored is deduplicated into one blob', async (t, store) => {
    const bytes = firmwareBytes();
    const first = await store.put(from(bytes));
    const second = await store.put(from(bytes));
    t.false(first.deduplicated);
    t.true(second.deduplicated);
    t.deepEqual(await listAll(store), [first.digest]);
  });

  contract('concurrent puts of the same bytes store one blob, and exactly one is new', async (t, store) => {
    const bytes = firmwareBytes(100_000);
    const results = await Promise.all(Array.from({ length: 8 }, () => store.put(from(bytes))));
    t.is(results.filter((result) => !result.deduplicated).length, 1);
    t.deepEqual(await listAll(store), [sha256(bytes)]);
  });

  contract('empty content is a blob like any other', async (t, store) => {
    const put = await store.put(from(Buffer.alloc(0)));
    t.is(put.digest, sha256(Buffer.alloc(0)));
    t.is((await readAll(await store.open(put.digest))).length, 0);
  });

  contract('a declared digest that matches is accepted', async (t, store) => {
    const bytes = firmwareBytes();
    const put = await store.put(from(bytes), { digest: parseDigest(sha256(bytes)), size: bytes.length });
    t.is(put.digest, sha256(bytes));
  });

  contract('a declared digest that differs is DIGEST_MISMATCH with both digests, and nothing is stored', async (t, store) => {
    const bytes = firmwareBytes();
    const declared = parseDigest(sha256(firmwareBytes()));
    const error = await t.throwsAsync(store.put(from(bytes), { digest: declared }));
    t.true(isRegistryError(error, 'DIGEST_MISMATCH'));
    t.like(error, { details: { expected: declared, actual: sha256(bytes) } });
    t.deepEqual(await listAll(store), []);
  });

  contract('a declared size that differs is SIZE_MISMATCH, and nothing is stored', async (t, store) => {
    const bytes = firmwareBytes(1000);
    const error = await t.throwsAsync(store.put(from(bytes), { size: 999 }));
    t.true(isRegistryError(error, 'SIZE_MISMATCH'));
    t.like(error, { details: { expected: 999, actual: 1000 } });
    t.deepEqual(await listAll(store), []);
  });

  contract('more bytes than maxBytes is TOO_LARGE, and nothing is stored', async (t, store) => {
    const error = await t.throwsAsync(store.put(from(firmwareBytes(10_001)), { maxBytes: 10_000 }));
    t.true(isRegistryError(error, 'TOO_LARGE'));
    t.deepEqual(await listAll(store), []);
  });

  contract('exactly maxBytes is accepted', async (t, store) => {
    const put = await store.put(from(firmwareBytes(10_000)), { maxBytes: 10_000 });
    t.is(put.size, 10_000);
  });

  contract('a source that fails midway rejects with its error, and nothing is stored', async (t, store) => {
    const broken = new Readable({ read() {} });
    broken.push(firmwareBytes(50_000));
    setImmediate(() => broken.destroy(new Error('connection reset')));
    await t.throwsAsync(store.put(broken), { message: 'connection reset' });
    t.deepEqual(await listAll(store), []);
  });

  contract('staged bytes are invisible until commit', async (t, store) => {
    const bytes = firmwareBytes();
    const staged = await store.stage(from(bytes));
    t.is(staged.digest, sha256(bytes));
    t.is(await store.stat(staged.digest), undefined);
    const committed = await staged.commit();
    t.false(committed.deduplicated);
    t.like(await store.stat(staged.digest), { digest: staged.digest, size: bytes.length });
    await staged.discard();
    t.truthy(await store.stat(staged.digest), 'discard after commit keeps the blob');
  });

  contract('discarded staged bytes are gone, and discard may be called twice', async (t, store) => {
    const staged = await store.stage(from(firmwareBytes()));
    await staged.discard();
    await staged.discard();
    t.is(await store.stat(staged.digest), undefined);
    t.deepEqual(await listAll(store), []);
  });

  contract('open with a range gives exactly those bytes, inclusive', async (t, store) => {
    const bytes = firmwareBytes(5000);
    const { digest } = await store.put(from(bytes));
    t.true(bytes.subarray(100, 200).equals(await readAll(await store.open(digest, { start: 100, end: 199 }))));
    t.true(bytes.subarray(4999).equals(await readAll(await store.open(digest, { start: 4999, end: 4999 }))));
  });

  contract('open streams in chunks of at most chunkSize', async (t, store) => {
    const bytes = firmwareBytes(1_000_000);
    const { digest } = await store.put(from(bytes));
    const chunks: Buffer[] = [];
    for await (const chunk of await store.open(digest, undefined, { chunkSize: 65_536 })) chunks.push(chunk as Buffer);
    t.true(chunks.every((chunk) => chunk.length <= 65_536));
    t.true(bytes.equals(Buffer.concat(chunks)));
  });

  contract('read gives exactly the bytes of a range in one buffer', async (t, store) => {
    const bytes = firmwareBytes(100_000);
    const { digest } = await store.put(from(bytes));
    t.true(bytes.subarray(0, 1).equals(await store.read(digest, { start: 0, end: 0 })));
    t.true(bytes.subarray(95_904).equals(await store.read(digest, { start: 95_904, end: 99_999 })));
    t.true(bytes.equals(await store.read(digest, { start: 0, end: 99_999 })));
  });

  contract('a destroyed stream and concurrent reads do not disturb each other', async (t, store) => {
    const bytes = firmwareBytes(2_000_000);
    const { digest } = await store.put(from(bytes));
    const abandoned = await store.open(digest, undefined, { chunkSize: 65_536 });
    abandoned.once('data', () => abandoned.destroy());
    const [whole, part] = await Promise.all([readAll(await store.open(digest)), store.read(digest, { start: 10, end: 20 })]);
    t.true(bytes.equals(whole));
    t.true(bytes.subarray(10, 21).equals(part));
  });

  contract('open, read, stat and delete of an unknown digest say so', async (t, store) => {
    const unknown = parseDigest(sha256(Buffer.from('never stored')));
    const error = await t.throwsAsync(store.open(unknown));
    t.true(isRegistryError(error, 'BLOB_UNKNOWN'));
    t.true(isRegistryError(await t.throwsAsync(store.read(unknown, { start: 0, end: 0 })), 'BLOB_UNKNOWN'));
    t.is(await store.stat(unknown), undefined);
    t.false(await store.delete(unknown));
  });

  contract('delete removes a blob', async (t, store) => {
    const { digest } = await store.put(from(firmwareBytes()));
    t.true(await store.delete(digest));
    t.is(await store.stat(digest), undefined);
    t.deepEqual(await listAll(store), []);
  });

  contract('list names every stored blob once', async (t, store) => {
    const digests = await Promise.all(Array.from({ length: 5 }, async () => (await store.put(from(firmwareBytes(64)))).digest));
    t.deepEqual(await listAll(store), [...digests].sort());
  });

  contract('check answers while the store works', async (t, store) => {
    await t.notThrowsAsync(store.check());
  });

  contract('listTemp shows staged bytes with their age, and removeTemp removes them, never a blob', async (t, store) => {
    const before = Date.now();
    const staged = await store.stage(from(firmwareBytes(1000)));
    const entries = await store.listTemp();
    t.is(entries.length, 1);
    // Object stores keep whole seconds.
    t.true(entries[0]!.modifiedAt >= before - 1000 && entries[0]!.modifiedAt <= Date.now() + 1000);
    await store.removeTemp(entries[0]!.name);
    await store.removeTemp(entries[0]!.name);
    t.deepEqual(await store.listTemp(), []);
    t.is(await store.stat(staged.digest), undefined);
    await staged.discard();
  });
}

function from(bytes: Buffer): Readable {
  // Several chunks, as a network upload arrives.
  const chunks: Buffer[] = [];
  for (let offset = 0; offset < bytes.length; offset += 16_384) chunks.push(bytes.subarray(offset, offset + 16_384));
  return Readable.from(chunks);
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function listAll(store: BlobStore): Promise<Digest[]> {
  const digests: Digest[] = [];
  for await (const digest of store.list()) digests.push(digest);
  return digests.sort();
}
