import fs from 'node:fs/promises';
import { loadBlobStoreConfig, type BlobStoreConfig } from '../config/blob-store-config.js';
import { DEFAULTS, type Environment } from '../config/config.js';
import { loadIndexConfig, type IndexConfig } from '../config/index-config.js';
import { CliError } from './cli-error.js';

export interface LocalData {
  dir: string;
  db: string;
  /** BLOB_STORE and the S3_* settings, as the registry on this data has them. */
  blobStore: BlobStoreConfig;
  /** DATABASE_URL: the index in PostgreSQL (then `db` is not used), else the file `db`. */
  index: IndexConfig;
}

/**
 * The data folder, index and blob store a local command works on: flags, then environment,
 * then defaults. With BLOB_STORE=s3 the blobs are in the bucket and no data folder is needed.
 * They must exist, unless the command makes them (`create`: an import into a new registry).
 */
export async function localData(options: { dir?: string; db?: string }, env: Environment, { create = false } = {}): Promise<LocalData> {
  const dir = options.dir ?? env.REGISTRY_DIR ?? DEFAULTS.REGISTRY_DIR;
  const db = options.db ?? env.REGISTRY_DB ?? DEFAULTS.REGISTRY_DB;
  const problems: string[] = [];
  const blobStore = loadBlobStoreConfig(env, problems);
  const index = loadIndexConfig(env, problems);
  if (problems.length > 0) throw new CliError(`invalid configuration: ${problems.join('; ')}`);
  if (create) return { dir, db, blobStore, index };
  const needed = [...(blobStore.kind === 'fs' ? [['data folder', dir]] : []), ...(index.kind === 'embedded' ? [['index', db]] : [])];
  for (const [what, file] of needed) {
    try {
      await fs.access(file as string);
    } catch {
      throw new CliError(`no registry ${what} at ${file} (set --dir and --db, or REGISTRY_DIR and REGISTRY_DB)`);
    }
  }
  return { dir, db, blobStore, index };
}
