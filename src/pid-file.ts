import fs from 'node:fs/promises';

/**
 * Writes this process's ID to `file` (`<REGISTRY_DB>.pid`) and resolves to the function that
 * removes it. Signals such as SIGHUP must reach the server itself: under `npm start` the
 * process in front is npm, which a HUP kills while the server runs on. The index lock is
 * held before this is written, so a second server can never overwrite the first one's file.
 */
export async function writePidFile(file: string): Promise<() => Promise<void>> {
  const mine = `${process.pid}\n`;
  await fs.writeFile(file, mine);
  return async () => {
    // Removed only if still ours: a server started after a kill -9 may have rewritten it.
    if ((await fs.readFile(file, 'utf8').catch(() => undefined)) === mine) await fs.rm(file, { force: true });
  };
}
