import type { IndexConfig } from '../config/index-config.js';
import type { Logger } from '../log.js';
import { EmbeddedIndex } from './embedded-index.js';
import type { FirmwareIndex, FirmwareRecord } from './firmware-index.js';
import { PostgresIndex } from './postgres/postgres-index.js';

/**
 * Opens the index the configuration names: PostgreSQL at DATABASE_URL, shared by every
 * instance configured with it, or else the embedded index at REGISTRY_DB, owned by this
 * process alone.
 */
export function openIndex(config: { index: IndexConfig; registryDb: string; journalSnapshotBytes?: number | undefined }, log: Logger): Promise<FirmwareIndex> {
  if (config.index.kind === 'postgres') return PostgresIndex.open(config.index.url, { log, poolSize: config.index.poolSize });
  return EmbeddedIndex.open(config.registryDb, { log, snapshotAfterBytes: config.journalSnapshotBytes });
}

/**
 * Every record the configured index holds, read without disturbing a registry that runs on
 * it (fsck): the embedded index's files are read without its lock; PostgreSQL is simply
 * asked, as any instance would.
 */
export async function readAllRecords(config: { index: IndexConfig; registryDb: string }, log: Logger): Promise<FirmwareRecord[]> {
  if (config.index.kind === 'embedded') return EmbeddedIndex.readSnapshot(config.registryDb);
  const index = await PostgresIndex.open(config.index.url, { log, poolSize: 1 });
  try {
    return await index.list();
  } finally {
    await index.close();
  }
}
