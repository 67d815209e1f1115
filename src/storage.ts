import type { BlobStore } from './cas/blob-store.js';
import { CachedBlobStore } from './cas/cached-blob-store.js';
import { FsBlobStore } from './cas/fs-blob-store.js';
import { S3BlobStore } from './cas/s3-blob-store.js';
import type { BlobStoreConfig } from './config/blob-store-config.js';
import type { VersionView } from './registry/version-view.js';
import { VersionTree } from './version-tree.js';

/**
 * The blob store the configuration selects, with what goes with it. This is the one place
 * that knows which store runs: the registry, gc, fsck and the HTTP layer see only the
 * BlobStore contract and an optional VersionView.
 */
export interface Storage {
  store: BlobStore;
  /** The `<name>/<version>/firmware.bin` tree: only beside the file-system store. */
  view: VersionView | undefined;
  /** Where the blobs are, for the log: a folder, or `s3://bucket/prefix`. */
  location: string;
  /**
   * Clears what crashed uploads left in the temp area, at start-up; resolves to how many
   * entries went. The data folder's `.tmp` is this registry's alone (the index lock keeps
   * others out), so it is emptied. A bucket may be shared by several registries, whose
   * uploads are in flight now: only entries older than S3_TEMP_GRACE_SECONDS go.
   */
  clearTemp(): Promise<number>;
  /** Releases connections; no calls after it. */
  close(): void;
}

/**
 * Opens the configured store: UNAVAILABLE (with the reason) when a bucket does not exist,
 * refuses the credentials or does not answer, so that start-up fails in one clear line.
 * `existing`: create nothing (fsck, which may run on a backup).
 */
export async function openStorage(config: BlobStoreConfig, registryDir: string, options: { existing?: boolean } = {}): Promise<Storage> {
  const storage = await openStore(config, registryDir, options);
  const cacheBytes = config.cacheBytes ?? 0;
  return cacheBytes > 0 ? { ...storage, store: new CachedBlobStore(storage.store, cacheBytes) } : storage;
}

async function openStore(config: BlobStoreConfig, registryDir: string, options: { existing?: boolean }): Promise<Storage> {
  if (config.kind === 's3') {
    const store = await S3BlobStore.open(config.s3);
    const { tempGraceMs } = config;
    return {
      store,
      view: undefined,
      location: `s3://${config.s3.bucket}/${config.s3.prefix ?? ''}`,
      clearTemp: async () => (await store.sweepTemp(Date.now() - tempGraceMs)).length,
      close: () => store.close(),
    };
  }
  const store = options.existing ? await FsBlobStore.openExisting(registryDir) : await FsBlobStore.open(registryDir);
  return {
    store,
    view: new VersionTree(store),
    location: store.root,
    clearTemp: () => store.emptyTemp(),
    close: () => {},
  };
}
