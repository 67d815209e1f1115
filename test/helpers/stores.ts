import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import { Readable } from 'node:stream';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import test, { type ExecutionContext } from 'ava';
import type { StoredBlobInfo } from '../../src/cas/blob-store.js';
import { loadBlobStoreConfig } from '../../src/config/blob-store-config.js';
import type { Digest } from '../../src/digest.js';
import { openStorage } from '../../src/storage.js';
import { ceph, cephTest, rawClient, type Ceph } from './ceph.js';
import { sha256 } from './fixtures.js';
import { freshDatabase, postgresTest, query } from './postgres.js';

/**
 * The two ways a registry runs, which HTTP tests run against: `fs`, one machine (the embedded
 * index, blobs in the data folder); `s3`, the configuration several instances share (the
 * index in PostgreSQL, blobs in a bucket of Ceph RGW).
 */
export type StoreKind = 'fs' | 's3';
export const STORES: readonly StoreKind[] = ['fs', 's3'];

export type Register = (title: string, implementation: (t: ExecutionContext) => Promise<void>) => void;

/**
 * ava's `test` for a store: the `s3` runs are reported skipped where Ceph or PostgreSQL cannot
 * run (their helpers say why on the console).
 */
export function storeTest(kind: StoreKind): Register {
  if (kind === 'fs') return test;
  return cephTest === test && postgresTest === test ? test : test.skip;
}

/** `title` for one machine (the titles the suite always had); ` [postgresql+s3]` after it for the shared engines. */
export function titled(kind: StoreKind, title: string): string {
  return kind === 'fs' ? title : `${title} [postgresql+s3]`;
}

/**
 * The environment of a registry running the given way: nothing for one machine; for `s3`, a
 * bucket of its own on this test file's Ceph RGW and a database of its own on its PostgreSQL
 * (so no test sees another's objects or rows), with the settings and credentials a deployment
 * has. `index: 'embedded'` keeps the index in REGISTRY_DB (blobs in S3 on one machine).
 */
export async function storeEnv(kind: StoreKind, extra: Record<string, string> = {}, { index = 'shared' }: { index?: 'shared' | 'embedded' } = {}): Promise<Record<string, string>> {
  if (kind === 'fs') return extra;
  const [rgw, database] = await Promise.all([ceph(), index === 'shared' ? freshDatabase() : undefined]);
  const bucket = await newBucket(rgw);
  return { ...s3Env(rgw, bucket), ...(database ? { DATABASE_URL: database } : {}), ...extra };
}

export function s3Env(rgw: Ceph, bucket: string): Record<string, string> {
  return {
    BLOB_STORE: 's3',
    S3_BUCKET: bucket,
    S3_ENDPOINT: rgw.endpoint,
    S3_FORCE_PATH_STYLE: 'true',
    AWS_ACCESS_KEY_ID: rgw.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: rgw.credentials.secretAccessKey,
  };
}

/** A fresh, empty bucket on `rgw`. */
export async function newBucket(rgw: Ceph): Promise<string> {
  const bucket = `t-${randomUUID()}`;
  const client = rawClient(rgw);
  try {
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
  } finally {
    client.destroy();
  }
  return bucket;
}

/**
 * What a registry's blob store holds, read through the store itself (as the registry
 * configured by `env` opens it): its blobs, sorted, and its temp entries.
 */
export async function storeContents(env: Record<string, string>, dataDir: string): Promise<{ blobs: Digest[]; temp: string[] }> {
  const storage = await openStorage(loadBlobStoreConfig(env, []), dataDir, { existing: true });
  try {
    const blobs: Digest[] = [];
    for await (const digest of storage.store.list()) blobs.push(digest);
    return { blobs: blobs.sort(), temp: (await storage.store.listTemp()).map((entry) => entry.name) };
  } finally {
    storage.close();
  }
}

/**
 * Puts bytes in a registry's store without publishing them (what a crash or a deleted version
 * leaves), through the store `env` configures. Resolves to what the store says of them.
 */
export async function putUnpublished(env: Record<string, string>, dataDir: string, bytes: Buffer): Promise<StoredBlobInfo> {
  const storage = await openStorage(loadBlobStoreConfig(env, []), dataDir);
  try {
    const { digest } = await storage.store.put(Readable.from([bytes]));
    const stored = await storage.store.stat(digest);
    if (!stored) throw new Error(`${digest} is not stored after put`);
    return stored;
  } finally {
    storage.close();
  }
}

/**
 * The whole state of a registry's index, to compare before and after something that must
 * change nothing: the digest of REGISTRY_DB's bytes, or with DATABASE_URL every row (with
 * labels) and the change counter of the database. (The bytes themselves, a megabyte, took
 * ava's deepEqual seconds of the event loop each: every test of a file sharing it stalled.)
 */
export async function indexState(env: Record<string, string>, dbFile: string): Promise<unknown> {
  if (env.DATABASE_URL === undefined) return sha256(await fs.readFile(dbFile));
  const [firmware, labels, state] = await Promise.all([
    query(env.DATABASE_URL, 'SELECT * FROM firmware ORDER BY id'),
    query(env.DATABASE_URL, 'SELECT * FROM firmware_labels ORDER BY firmware_id, key'),
    query(env.DATABASE_URL, 'SELECT * FROM index_state'),
  ]);
  return { firmware, labels, state };
}
