import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { fsyncDir } from '../fsync-dir.js';

/**
 * Writes a whole-database snapshot atomically:
 *   1. to `<file>.<random>.tmp`, fsynced,
 *   2. renamed over `<file>` (readers see the old or the new file, never a mix),
 *   3. the folder fsynced, so the rename itself survives a power cut.
 */
export async function writeSnapshot(file: string, bytes: Uint8Array): Promise<void> {
  const temp = `${file}.${randomUUID()}.tmp`;
  try {
    const handle = await fs.open(temp, 'wx', 0o644);
    try {
      await handle.writeFile(bytes);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.rename(temp, file);
  } catch (error) {
    await fs.rm(temp, { force: true });
    throw error;
  }
  await fsyncDir(path.dirname(file));
}

/** Whether `name` (in the index's folder) is a temp file `writeSnapshot` left for `file`. */
export function isSnapshotTemp(file: string, name: string): boolean {
  const base = `${path.basename(file)}.`;
  return name.startsWith(base) && /^[0-9a-f-]{36}\.tmp$/.test(name.slice(base.length));
}
