import fs from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import type { ExecutionContext } from 'ava';
import type { BlobStore } from '../../src/cas/blob-store.js';
import { FsBlobStore } from '../../src/cas/fs-blob-store.js';
import type { Digest } from '../../src/digest.js';
import type { FirmwareIndex, FirmwareRecord } from '../../src/index/firmware-index.js';
import { EmbeddedIndex } from '../../src/index/embedded-index.js';
import { silentLogger } from '../../src/log.js';
import { Registry } from '../../src/registry/registry.js';
import { VersionTree } from '../../src/version-tree.js';
import { firmwareBytes } from '../helpers/fixtures.js';
import { tempDir } from '../helpers/temp-dir.js';

/** An embedded registry's data opened in this process: index file + blob folder, closed when the test ends. */
export interface LocalRegistry {
  dir: string;
  db: string;
  index: EmbeddedIndex;
  store: FsBlobStore;
  view: VersionTree;
  registry: Registry;
  close(): Promise<void>;
}

export async function openLocal(t: ExecutionContext, home?: string): Promise<LocalRegistry> {
  const root = home ?? (await tempDir(t));
  const dir = path.join(root, 'registry');
  const db = path.join(root, 'registry.db');
  const index = await EmbeddedIndex.open(db);
  const store = await FsBlobStore.open(dir);
  const view = new VersionTree(store);
  const registry = new Registry({ index, store, view, log: silentLogger });
  const close = () => index.close();
  t.teardown(close);
  return { dir, db, index, store, view, registry, close };
}

export interface Release {
  name: string;
  version: string;
  labels: Record<string, string>;
  createdAt: string;
  bytes: Buffer;
}

/**
 * What a registry that has been in use holds: several names, releases and pre-releases, labels,
 * publish dates long past (so a copy that stamped "now" would show), and versions that share
 * bytes (a rebuild under another name, a re-tag). `size` is each distinct blob's size.
 */
export function releases(size = 50_000): Release[] {
  const [a, b, c, d, e] = [0, 1, 2, 3, 4].map(() => firmwareBytes(size)) as [Buffer, Buffer, Buffer, Buffer, Buffer];
  return [
    { name: 'base', version: '1.0.0', labels: { board: 'esp32', channel: 'stable' }, createdAt: '2024-01-05T10:00:00.000Z', bytes: a },
    { name: 'base', version: '1.1.0', labels: { board: 'esp32', channel: 'stable' }, createdAt: '2024-02-11T09:30:00.123Z', bytes: b },
    { name: 'base', version: '2.0.0-beta.1', labels: { channel: 'beta' }, createdAt: '2024-03-01T00:00:00.000Z', bytes: c },
    { name: 'sensor', version: '0.9.0', labels: {}, createdAt: '2023-12-24T18:00:00.000Z', bytes: d },
    { name: 'sensor', version: '1.0.0', labels: { channel: 'stable' }, createdAt: '2024-01-05T10:00:00.000Z', bytes: d },
    { name: 'sensor-lite', version: '1.0.0+build.7', labels: { board: 'esp8266' }, createdAt: '2024-04-30T23:59:59.999Z', bytes: b },
    { name: 'relay', version: '3.2.1', labels: { channel: 'stable', 'team/owner': 'ops' }, createdAt: '2024-05-01T12:00:00.000Z', bytes: e },
  ];
}

/** Publishes each release, keeping its date. */
export async function publishAll(registry: Registry, store: BlobStore, list: Release[]): Promise<void> {
  for (const { bytes, ...metadata } of list) {
    await registry.publish(metadata, await store.stage(Readable.from([bytes])));
  }
}

/** Every record of an index: compared whole, so rows, labels and dates must all match. */
export function allRecords(index: FirmwareIndex): Promise<FirmwareRecord[]> {
  return index.list();
}

/** Every byte of a blob, read back through a store. */
export async function readBlob(store: BlobStore, digest: Digest): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of await store.open(digest)) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Flips one byte in the middle of a blob file of the file-system store: damage a disk can do. */
export async function flipByte(store: FsBlobStore, digest: Digest): Promise<void> {
  const file = store.pathOf(digest);
  await fs.chmod(file, 0o644);
  const bytes = await fs.readFile(file);
  const middle = Math.floor(bytes.length / 2);
  bytes[middle] = bytes[middle]! ^ 0xff;
  await fs.writeFile(file, bytes);
}

/** The blobs a store holds, sorted. */
export async function storedDigests(store: BlobStore): Promise<Digest[]> {
  const digests: Digest[] = [];
  for await (const digest of store.list()) digests.push(digest);
  return digests.sort();
}
