import fs from 'node:fs/promises';
import path from 'node:path';
import { isErrnoCode } from './errors.js';
import { isValidName, isValidVersion } from './firmware/identifiers.js';

/**
 * The seed's human-readable view of the store: `<root>/<name>/<version>/firmware.bin`, each a
 * hard link to its blob, so it costs no space and `sha256sum` on it matches the digest. It is
 * derived from the index and rebuilt from it at start-up, so a crash between the index write
 * and the link costs nothing. It belongs to the file-system store: an object store has none.
 */
export class VersionTree {
  constructor(
    readonly root: string,
    private readonly tempPath: (suffix: string) => string,
  ) {}

  pathOf(name: string, version: string): string {
    // The last guard before the file system: only checked names and versions become paths.
    if (!isValidName(name) || !isValidVersion(version)) {
      throw new Error(`refusing to build a path from name ${JSON.stringify(name)} and version ${JSON.stringify(version)}`);
    }
    return path.join(this.root, name, version, 'firmware.bin');
  }

  /**
   * Points `<name>/<version>/firmware.bin` at `blobPath`. The link is made under a temp name
   * and renamed into place, so the name never shows a missing or half-made file.
   */
  async link(name: string, version: string, blobPath: string): Promise<void> {
    const target = this.pathOf(name, version);
    const temp = this.tempPath('link');
    await fs.link(blobPath, temp);
    try {
      await fs.mkdir(path.dirname(target), { recursive: true });
      await fs.rename(temp, target);
    } catch (error) {
      await fs.rm(temp, { force: true });
      throw error;
    }
  }

  /** Removes a version's link and the folders it leaves empty. */
  async unlink(name: string, version: string): Promise<void> {
    const target = this.pathOf(name, version);
    await fs.rm(target, { force: true });
    for (const dir of [path.dirname(target), path.dirname(path.dirname(target))]) {
      try {
        await fs.rmdir(dir);
      } catch (error) {
        if (isErrnoCode(error, 'ENOTEMPTY', 'EEXIST', 'ENOENT')) return;
        throw error;
      }
    }
  }

  /** Every name and version that has a folder in the tree (dot folders are the store's). */
  async *list(): AsyncIterable<{ name: string; version: string }> {
    for (const name of await fs.readdir(this.root)) {
      if (!isValidName(name)) continue;
      let versions: string[];
      try {
        versions = await fs.readdir(path.join(this.root, name));
      } catch (error) {
        if (isErrnoCode(error, 'ENOTDIR', 'ENOENT')) continue;
        throw error;
      }
      for (const version of versions) if (isValidVersion(version)) yield { name, version };
    }
  }

  /** Whether the version's file is the blob itself (same inode), not a stale or missing copy. */
  async isLinked(name: string, version: string, blobPath: string): Promise<boolean> {
    try {
      const [link, blob] = await Promise.all([fs.stat(this.pathOf(name, version)), fs.stat(blobPath)]);
      return link.ino === blob.ino && link.dev === blob.dev;
    } catch (error) {
      if (isErrnoCode(error, 'ENOENT', 'ENOTDIR')) return false;
      throw error;
    }
  }
}
