import fs from 'node:fs/promises';

/**
 * Makes a directory's entries durable: after `rename(2)` or `link(2)`, the new name is only
 * safe from a power cut once the directory itself is fsynced (the file's own fsync does not
 * cover its name).
 */
export async function fsyncDir(dir: string): Promise<void> {
  const handle = await fs.open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
