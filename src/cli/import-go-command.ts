import fs from 'node:fs/promises';
import type { Environment } from '../config/config.js';
import { CliError } from './cli-error.js';
import { fileProblem } from './file-problem.js';
import { goFirmwareFile, readGoDatabase, type GoRow } from './go-registry.js';
import { judgeGoRow, rowTitle } from './go-version.js';
import { hashFile } from './hash-file.js';
import type { ImportItem, ImportTarget } from './import-target.js';
import { localImportTarget } from './local-import-target.js';
import { progressBar } from './progress.js';
import type { RegistryClient } from './registry-client.js';
import { remoteImportTarget } from './remote-import-target.js';

export interface ImportGoOptions {
  /** The Go registry's folder and database. */
  dir: string;
  db: string;
  /** The local data to import into, without a client (else REGISTRY_DIR and REGISTRY_DB). */
  intoDir?: string;
  intoDb?: string;
}

interface Tally {
  imported: number;
  present: number;
  conflicts: number;
  skipped: number;
}

/**
 * `spore-registry import-go`: publishes every version of a Go registry, with its labels and
 * its original date, into the running registry (a client) or into the local data:
 *   1. read the Go database whole, and check the folder is there;
 *   2. for each row, in publish order: judge it (SemVer, labels, date), read and hash its
 *      `firmware.bin` (there, not empty, the recorded size), and publish it by digest, or
 *      with its bytes when the registry lacks them;
 *   3. print one line per version not imported (a conflict or a skip, with why), then the tally.
 * A version already published with these bytes counts as present, so a second run publishes
 * nothing and an interrupted one resumes. Exit status 1 when any version was not imported.
 */
export async function importGoCommand(client: RegistryClient | undefined, options: ImportGoOptions, env: Environment, print: (line: string) => void): Promise<void> {
  const rows = await readGoDatabase(options.db);
  await requireFolder(options.dir);
  const target = client ? remoteImportTarget(client) : await localImportTarget({ dir: options.intoDir, db: options.intoDb }, env, options);
  const tally: Tally = { imported: 0, present: 0, conflicts: 0, skipped: 0 };
  const lines: string[] = [];
  const counts = () => `${tally.imported} imported, ${tally.present} already present, ${tally.conflicts} in conflict, ${tally.skipped} skipped`;
  const bar = progressBar('import-go', rows.length, 'count');
  let done = 0;
  try {
    for (const row of rows) {
      await importRow(row, options.dir, target, tally, lines);
      bar.update(++done);
    }
  } catch (error) {
    lines.push(`import-go: stopped after ${done} of ${rows.length} versions: ${counts()}; run it again to resume`);
    throw error;
  } finally {
    bar.stop();
    for (const line of lines) print(line);
    await target.close();
  }
  print(`import-go: ${rows.length} versions in the Go registry: ${counts()}`);
  if (tally.conflicts + tally.skipped > 0) {
    throw new CliError(`import-go: ${tally.conflicts + tally.skipped} version(s) not imported, each listed above with why; what was imported stays, and a run after a fix imports the rest`);
  }
}

async function importRow(row: GoRow, dir: string, target: ImportTarget, tally: Tally, lines: string[]): Promise<void> {
  const skip = (reason: string) => {
    tally.skipped++;
    lines.push(`skipped ${rowTitle(row)}: ${reason}`);
  };
  const judged = judgeGoRow(row, new Date());
  if ('skip' in judged) return skip(judged.skip);
  const file = goFirmwareFile(dir, judged.name, judged.version);
  let hashed;
  try {
    hashed = await hashFile(file);
  } catch (error) {
    return skip(`cannot read ${file}: ${fileProblem(error)}`);
  }
  if (hashed.size === 0) return skip(`${file} is empty`);
  if (hashed.size !== judged.size) {
    return skip(`${file} is ${hashed.size} bytes, the Go database says ${judged.size}: correct the row's size if the file is right`);
  }
  const item: ImportItem = { ...judged, file, digest: hashed.digest };
  const outcome = await target.publish(item);
  if (outcome.kind === 'imported') tally.imported++;
  else if (outcome.kind === 'present') tally.present++;
  else if (outcome.kind === 'refused') skip(`the registry refused it: ${outcome.reason}`);
  else {
    tally.conflicts++;
    lines.push(`conflict ${item.name} ${item.version}: published here as ${outcome.published}, the Go registry's ${file} is ${item.digest}; left as it is`);
  }
}

async function requireFolder(dir: string): Promise<void> {
  let isFolder: boolean;
  try {
    isFolder = (await fs.stat(dir)).isDirectory();
  } catch (error) {
    throw new CliError(`import-go: cannot read the Go registry's folder ${dir}: ${fileProblem(error)}`);
  }
  if (!isFolder) throw new CliError(`import-go: ${dir} is not a folder; --dir takes the Go registry's registry folder`);
}
