import fs from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import test from 'ava';
import { digestHex } from '../../src/digest.js';
import { FsBlobStore } from '../../src/cas/fs-blob-store.js';
import { firmwareBytes } from '../helpers/fixtures.js';
import { tempDir } from '../helpers/temp-dir.js';
import { blobStoreContract } from './blob-store-contract.js';

blobStoreContract('FsBlobStore', async (t) => {
  const store = await FsBlobStore.open(await tempDir(t));
  return { store, tempEntries: () => fs.readdir(store.tempDir) };
});

test('FsBlobStore: a blob is a read-only file at .blobs/sha256/<first two hex>/<hex>', async (t) => {
  const root = await tempDir(t);
  const store = await FsBlobStore.open(root);
  const bytes = firmwareBytes();
  const { digest } = await store.put(Readable.from([bytes]));
  const hex = digestHex(digest);
  const file = path.join(root, '.blobs', 'sha256', hex.slice(0, 2), hex);
  t.is(store.pathOf(digest), file);
  t.true(bytes.equals(await fs.readFile(file)));
  t.is((await fs.stat(file)).mode & 0o777, 0o444);
});

test('FsBlobStore: emptyTemp removes what a crashed upload left', async (t) => {
  const store = await FsBlobStore.open(await tempDir(t));
  await fs.writeFile(path.join(store.tempDir, 'left-by-a-crash.blob'), 'partial');
  await fs.mkdir(path.join(store.tempDir, 'a-folder'));
  t.is(await store.emptyTemp(), 2);
  t.deepEqual(await fs.readdir(store.tempDir), []);
});

test('FsBlobStore: list skips files that are not blobs', async (t) => {
  const store = await FsBlobStore.open(await tempDir(t));
  const { digest } = await store.put(Readable.from([firmwareBytes()]));
  await fs.writeFile(path.join(store.blobsDir, 'README'), 'not a shard');
  await fs.writeFile(path.join(path.dirname(store.pathOf(digest)), 'not-a-digest'), 'x');
  const listed = [];
  for await (const found of store.list()) listed.push(found);
  t.deepEqual(listed, [digest]);
});
