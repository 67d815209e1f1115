import type { Environment } from '../config/config.js';
import { isRegistryError } from '../errors.js';
import type { FirmwareIndex } from '../index/firmware-index.js';
import { openIndex } from '../index/open-index.js';
import { silentLogger } from '../log.js';
import { DEFAULT_GRACE_MS, type GarbageReport } from '../registry/garbage.js';
import { Registry } from '../registry/registry.js';
import { openStorage } from '../storage.js';
import { CliError } from './cli-error.js';
import { localData } from './local-data.js';
import { failure, type RegistryClient } from './registry-client.js';

export interface GcOptions {
  dryRun: boolean;
  /** Local collection only: a running registry uses its own. */
  graceMs?: number;
  dir?: string;
  db?: string;
}

/**
 * `spore-registry gc`: with `--url`, asks the running registry to collect (it knows which
 * uploads are in flight); without, collects on the local data, which needs the registry
 * stopped (the index lock says so).
 */
export async function gcCommand(client: RegistryClient | undefined, options: GcOptions, env: Environment, print: (line: string) => void): Promise<void> {
  if (client) {
    const answer = await client.send({ method: 'POST', path: `/gc?dry_run=${options.dryRun}` });
    if (answer.status !== 200) throw failure('gc', answer);
    const report = JSON.parse(answer.body.toString()) as { blobs: { sha256: string; size: number }[]; young_blobs: number; temp_files: string[]; links: { name: string; version: string }[]; young_links: number; foreign_files: number; bytes: number };
    return printReport(print, options.dryRun, {
      blobs: report.blobs.map((blob) => ({ digest: blob.sha256, size: blob.size })),
      youngBlobs: report.young_blobs,
      tempFiles: report.temp_files,
      links: report.links,
      youngLinks: report.young_links,
      foreignFiles: report.foreign_files,
      bytes: report.bytes,
    });
  }

  const { dir, db, blobStore, index: indexConfig } = await localData(options, env);
  let index: FirmwareIndex;
  try {
    index = await openIndex({ index: indexConfig, registryDb: db }, silentLogger);
  } catch (error) {
    if (isRegistryError(error, 'INDEX_LOCKED')) {
      throw new CliError(`gc: ${error.message}; to collect while it runs, use --url <its address>`);
    }
    throw error;
  }
  try {
    const { store, view, close } = await openStorage(blobStore, dir);
    try {
      const registry = new Registry({ store, index, view, log: silentLogger });
      const report = await registry.collectGarbage({ dryRun: options.dryRun, graceMs: options.graceMs ?? DEFAULT_GRACE_MS });
      printReport(print, options.dryRun, report);
    } finally {
      close();
    }
  } finally {
    await index.close();
  }
}

type PrintableReport = Omit<GarbageReport, 'dryRun' | 'blobs'> & { blobs: { digest: string; size: number }[] };

function printReport(print: (line: string) => void, dryRun: boolean, report: PrintableReport): void {
  const verb = dryRun ? 'would remove' : 'removed';
  for (const blob of report.blobs) print(`${verb} blob ${blob.digest} (${blob.size} bytes)`);
  for (const file of report.tempFiles) print(`${verb} temp entry ${file}`);
  for (const link of report.links) print(`${verb} link ${link.name}/${link.version}/firmware.bin`);
  print(`gc: ${verb} ${report.blobs.length} blob(s), ${(report.bytes / 1024 / 1024).toFixed(1)} MiB; kept ${report.youngBlobs} unreferenced blob(s) younger than the grace period`);
  if (report.foreignFiles > 0) print(`gc: left ${report.foreignFiles} file(s) in the version tree alone: not versions, and not links to a stored blob`);
}

/** `90s`, `10m`, `1h`, `2d`, or a number of seconds. */
export function parseDuration(text: string): number {
  const match = /^(\d+(?:\.\d+)?)(s|m|h|d)?$/.exec(text.trim());
  if (!match) throw new CliError(`--grace takes a duration such as 30m, 1h or 0, not ${JSON.stringify(text)}`);
  const unit = { s: 1, m: 60, h: 3600, d: 86400 }[(match[2] ?? 's') as 's' | 'm' | 'h' | 'd'];
  return Number(match[1]) * unit * 1000;
}
