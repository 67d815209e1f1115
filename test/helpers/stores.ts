import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import test, { type ExecutionContext } from 'ava';
import type { StoredBlobInfo } from '../../src/cas/blob-store.js';
import { loadBlobStoreConfig } from '../../src/config/blob-store-config.js';
import type { Digest } from '../../src/digest.js';
import { openStorage } from '../../src/storage.js';
import { ceph, cephTest, rawClient, type Ceph } from './ceph.js';

/** The blob stores a registry runs on: HTTP tests run against each. */
export type StoreKind = 'fs' | 's3';
export const STORES: readonly StoreKind[] = ['fs', 's3'];

export type Register = (title: string, implementation: (t: ExecutionContext) => Promise<void>) => void;

/** ava's `test` for a store: the S3 runs are reported skipped where Ceph cannot run. */
export function storeTest(kind: StoreKind): Register {
  return kind === 's3' ? cephTest : test;
}

/** `title` for the file-system store (the titles the suite always had); ` [s3]` after it for S3. */
export function titled(kind: StoreKind, title: string): string {
  return kind === 'fs' ? title : `${title} [s3]`;
}

/**
 * The environment that puts a registry's blobs in the given store: nothing for the data folder;
 * for S3, a bucket of its own on this test file's Ceph RGW (so no test sees another's objects),
 * with the settings and credentials a deployment on Ceph has.
 */
export async function storeEnv(kind: StoreKind, extra: Record<string, string> = {}): Promise<Record<string, string>> {
  if (kind === 'fs') return extra;
  const rgw = await ceph();
  const bucket = await newBucket(rgw);
  return { ...s3Env(rgw, bucket), ...extra };
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
