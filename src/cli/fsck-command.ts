import type { Environment } from '../config/config.js';
import { fsck } from '../fsck.js';
import { readAllRecords } from '../index/open-index.js';
import { silentLogger } from '../log.js';
import { openStorage } from '../storage.js';
import { CliError } from './cli-error.js';
import { localData } from './local-data.js';
import { progressBar, type Progress } from './progress.js';

/**
 * `spore-registry fsck`: re-hashes every blob and checks the index against the store, on the
 * local data (read-only: a running registry may keep serving). One line per problem on
 * standard output; exit status 1 when there is any.
 */
export async function fsckCommand(options: { dir?: string; db?: string }, env: Environment, print: (line: string) => void, note: (line: string) => void): Promise<void> {
  const { dir, db, blobStore, index } = await localData(options, env);
  const { store, view, close } = await openStorage(blobStore, dir, { existing: true });
  const read = () => readAllRecords({ index, registryDb: db }, silentLogger);
  const records = await read();
  let bar: Progress | undefined;
  let report;
  try {
    report = await fsck({ store, view, records, reread: read }, (progress) => {
      bar ??= progressBar('fsck', progress.bytesTotal);
      bar.update(progress.bytesDone);
    });
  } finally {
    bar?.stop();
    close();
  }
  for (const problem of report.problems) print(problem);
  for (const line of report.notes) note(line);
  const summary = `fsck: ${records.length} versions, ${report.blobs} blobs, ${(report.bytes / 1024 / 1024).toFixed(1)} MiB re-hashed`;
  if (report.problems.length > 0) throw new CliError(`${summary}: ${report.problems.length} problem(s)`);
  note(`${summary}: no damage`);
}
