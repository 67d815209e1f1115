import { createReadStream } from 'node:fs';
import path from 'node:path';
import type { Environment } from '../config/config.js';
import { isRegistryError } from '../errors.js';
import { EmbeddedIndex } from '../index/embedded-index.js';
import type { FirmwareIndex } from '../index/firmware-index.js';
import { silentLogger } from '../log.js';
import { Registry } from '../registry/registry.js';
import { openStorage } from '../storage.js';
import { UsageError } from './cli-error.js';
import type { ImportItem, ImportOutcome, ImportTarget } from './import-target.js';
import { localData } from './local-data.js';

/** Refusals about the one version; anything else (a full disk, a damaged index) ends the import. */
const REFUSALS = new Set(['DIGEST_MISMATCH', 'SIZE_MISMATCH', 'FIRMWARE_EMPTY', 'TOO_LARGE']);

/**
 * Imports into the local data (`REGISTRY_DIR`, `REGISTRY_DB`, `BLOB_STORE`; made when they do
 * not exist yet), through the same Registry a server runs, so every publish is as durable as
 * one over HTTP. The index lock keeps it off data a running registry holds: that one is
 * imported into with `--url`.
 */
export async function localImportTarget(options: { dir?: string; db?: string }, env: Environment, go: { dir: string; db: string }): Promise<ImportTarget> {
  const { dir, db, blobStore } = await localData(options, env, { create: true });
  const same = (a: string, b: string) => path.resolve(a) === path.resolve(b);
  if (same(db, go.db) || (blobStore.kind === 'fs' && same(dir, go.dir))) {
    throw new UsageError(
      `import-go reads the Go registry (--dir ${go.dir}, --db ${go.db}) and publishes into another registry: give that one its own folder and index (--into-dir and --into-db, or REGISTRY_DIR and REGISTRY_DB)`,
    );
  }
  let index: FirmwareIndex;
  try {
    index = await EmbeddedIndex.open(db);
  } catch (error) {
    if (isRegistryError(error, 'INDEX_LOCKED')) throw new UsageError(`import-go: ${error.message}; import into it with --url <its address>`);
    throw error;
  }
  let storage: Awaited<ReturnType<typeof openStorage>>;
  try {
    storage = await openStorage(blobStore, dir);
  } catch (error) {
    await index.close();
    throw error;
  }
  const { store, view } = storage;
  const registry = new Registry({ store, index, view, log: silentLogger });

  return {
    async publish(item: ImportItem): Promise<ImportOutcome> {
      const metadata = { name: item.name, version: item.version, labels: item.labels, digest: item.digest, size: item.size, createdAt: item.createdAt };
      try {
        let result;
        try {
          result = await registry.publishStored(metadata);
        } catch (error) {
          if (!isRegistryError(error, 'BLOB_UNKNOWN')) throw error;
          result = await registry.publish(metadata, await store.stage(createReadStream(item.file), { digest: item.digest, size: item.size }));
        }
        return { kind: result.created ? 'imported' : 'present' };
      } catch (error) {
        if (isRegistryError(error, 'VERSION_EXISTS')) return { kind: 'conflict', published: String(error.details.published) };
        if (isRegistryError(error) && REFUSALS.has(error.code)) return { kind: 'refused', reason: `${error.code}: ${error.message}` };
        throw error;
      }
    },
    async close() {
      await registry.viewSettled();
      storage.close();
      await index.close();
    },
  };
}
