import type { Config } from '../config/config.js';
import type { Logger } from '../log.js';
import { EmbeddedIndex } from './embedded-index.js';
import type { FirmwareIndex } from './firmware-index.js';
import { PostgresIndex } from './postgres/postgres-index.js';

/**
 * Opens the index the configuration names: PostgreSQL at DATABASE_URL, shared by every
 * instance configured with it, or else the embedded index at REGISTRY_DB, owned by this
 * process alone.
 */
export function openIndex(config: Pick<Config, 'index' | 'registryDb' | 'journalSnapshotBytes'>, log: Logger): Promise<FirmwareIndex> {
  if (config.index.kind === 'postgres') return PostgresIndex.open(config.index.url, { log, poolSize: config.index.poolSize });
  return EmbeddedIndex.open(config.registryDb, { log, snapshotAfterBytes: config.journalSnapshotBytes });
}
