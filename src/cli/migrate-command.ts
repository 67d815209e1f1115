import fs from 'node:fs/promises';
import { FsBlobStore } from '../cas/fs-blob-store.js';
import { loadBlobStoreConfig, type BlobStoreConfig } from '../config/blob-store-config.js';
import { DEFAULTS, type Environment } from '../config/config.js';
import { loadIndexConfig, type IndexConfig } from '../config/index-config.js';
import { isRegistryError } from '../errors.js';
import { EmbeddedIndex } from '../index/embedded-index.js';
import { openIndex } from '../index/open-index.js';
import { silentLogger } from '../log.js';
import { copyRegistry, CopyStopped, type CopyReport, type RegistryData } from '../migrate/copy-registry.js';
import type { VersionOutcome } from '../migrate/copy-version.js';
import { openStorage } from '../storage.js';
import { VersionTree } from '../version-tree.js';
import { CliError, UsageError } from './cli-error.js';
import { progressBar, type Progress } from './progress.js';

export type Direction = 'up' | 'down';

export interface MigrateOptions {
  dir?: string;
  db?: string;
  /** Blobs in flight at once. */
  jobs?: number;
}

interface ClusterConfig {
  index: IndexConfig & { kind: 'postgres' };
  blobStore: BlobStoreConfig & { kind: 's3' };
}

/**
 * `spore-registry migrate up|down`: copies the versions of this machine's embedded registry
 * (index file + data folder) into the cluster the environment configures (PostgreSQL at
 * DATABASE_URL, blobs in S3), or back. The local side must not be in use by a registry (its
 * index lock says so); the cluster may be serving. Prints a line per version copied when no
 * progress bar is drawn, one per version not copied, and a summary; exit status 1 when any
 * version was not copied. The two sides are different engines by construction (a file and a
 * folder here, PostgreSQL and a bucket there), so they cannot be the same data.
 */
export async function migrateCommand(direction: Direction, options: MigrateOptions, env: Environment, print: (line: string) => void): Promise<void> {
  const cluster = clusterConfig(direction, env);
  const dir = options.dir ?? env.REGISTRY_DIR ?? DEFAULTS.REGISTRY_DIR;
  const db = options.db ?? env.REGISTRY_DB ?? DEFAULTS.REGISTRY_DB;
  const existing = await exists(db);
  if (direction === 'up') {
    if (!existing) throw new CliError(`no registry index at ${db} (set --dir and --db, or REGISTRY_DIR and REGISTRY_DB)`);
    if (!(await exists(dir))) throw new CliError(`no registry data folder at ${dir} (set --dir and --db, or REGISTRY_DIR and REGISTRY_DB)`);
  }

  const closing: (() => Promise<void> | void)[] = [];
  const openLocal = async (): Promise<RegistryData> => {
    const index = await EmbeddedIndex.open(db).catch((error: unknown) => {
      if (isRegistryError(error, 'INDEX_LOCKED')) throw new UsageError(`migrate ${direction}: ${error.message}; stop that registry first`);
      throw error;
    });
    closing.push(() => index.close());
    const store = direction === 'up' ? await FsBlobStore.openExisting(dir) : await FsBlobStore.open(dir);
    return { index, store, view: new VersionTree(store) };
  };
  const openRemote = async (): Promise<RegistryData> => {
    // PostgreSQL, as the cluster's instances open it (`registryDb` is only the embedded index's).
    const index = await openIndex({ index: cluster.index, registryDb: db }, silentLogger);
    closing.push(() => index.close());
    const storage = await openStorage(cluster.blobStore, dir);
    closing.push(() => storage.close());
    return { index, store: storage.store };
  };
  try {
    // The lock of existing local data first (refused at once when a registry runs on it); a
    // local index `down` creates comes last, so that it is not left behind when the cluster is away.
    let local: RegistryData, remote: RegistryData;
    if (existing) {
      local = await openLocal();
      remote = await openRemote();
    } else {
      remote = await openRemote();
      local = await openLocal();
    }
    const [source, target] = direction === 'up' ? [local, remote] : [remote, local];
    const report = await copyWithProgress(`migrate ${direction}`, source, target, options.jobs, print).catch((error: unknown) => {
      if (!(error instanceof CopyStopped)) throw error;
      throw new CliError(`${summarize(direction, error.report)}; stopped early: ${error.message}; run it again to continue`);
    });
    const summary = summarize(direction, report);
    if (report.conflicts + report.failed > 0) throw new CliError(summary);
    print(summary);
  } finally {
    for (const close of closing.reverse()) await close();
  }
}

/**
 * The cluster side from the environment, as `serve` reads it: every missing or wrong setting
 * in one line (bad usage: nothing was touched).
 */
function clusterConfig(direction: Direction, env: Environment): ClusterConfig {
  const problems: string[] = [];
  const index = loadIndexConfig(env, problems);
  if (index.kind !== 'postgres') problems.push('DATABASE_URL must name the PostgreSQL database');
  const before = problems.length;
  const blobStore = loadBlobStoreConfig(env, problems);
  if (blobStore.kind !== 's3' && problems.length === before) problems.push('BLOB_STORE must be "s3", with S3_BUCKET (the cluster keeps its blobs in S3)');
  if (problems.length > 0 || index.kind !== 'postgres' || blobStore.kind !== 's3') {
    throw new UsageError(`migrate ${direction}: the cluster is not configured: ${problems.join('; ')}`);
  }
  return { index, blobStore };
}

async function exists(file: string): Promise<boolean> {
  return fs.access(file).then(
    () => true,
    () => false,
  );
}

/**
 * Runs the copy with a progress bar on a terminal; elsewhere (a log, a script) with a line per
 * version copied instead. Versions not copied are printed once the bar is gone.
 */
async function copyWithProgress(label: string, source: RegistryData, target: RegistryData, jobs: number | undefined, print: (line: string) => void): Promise<CopyReport> {
  const drawn = process.stderr.isTTY === true;
  const problems: string[] = [];
  let bar: Progress | undefined;
  try {
    return await copyRegistry(source, target, {
      concurrency: jobs,
      onProgress: (done, total) => {
        bar ??= progressBar(label, total);
        bar.update(done);
      },
      onOutcome: (outcome) => {
        const line = describe(outcome);
        if (outcome.kind === 'copied') {
          if (!drawn) print(line);
        } else if (line) problems.push(line);
      },
    });
  } finally {
    bar?.stop();
    for (const line of problems) print(line);
  }
}

function describe(outcome: VersionOutcome): string {
  const { name, version, digest } = outcome.record;
  switch (outcome.kind) {
    case 'copied':
      return `copied ${name} ${version} (${outcome.sent > 0 ? `${outcome.sent} bytes sent` : 'its bytes were in the target already'})`;
    case 'present':
      return outcome.labelsDiffer ? `kept ${name} ${version} as the target has it: its labels there differ from the source's` : '';
    case 'conflict':
      return `conflict: ${name} ${version} is in the target with other bytes (${outcome.target}; the source has ${digest}); left as it is`;
    case 'failed':
      return `not copied: ${name} ${version}: ${outcome.reason} (${outcome.code})`;
  }
}

function summarize(direction: Direction, report: CopyReport): string {
  const mib = (report.bytesSent / 1024 / 1024).toFixed(1);
  return (
    `migrate ${direction}: ${report.versions} versions: ${report.copied} copied, ${report.present} already there, ` +
    `${report.conflicts} conflicts, ${report.failed} not copied (damaged or missing bytes); ${report.blobsSent} blobs sent, ${mib} MiB`
  );
}
