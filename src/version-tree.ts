import fs from 'node:fs/promises';
import path from 'node:path';
import type { FsBlobStore } from './cas/fs-blob-store.js';
import { isErrnoCode } from './errors.js';
import { isValidName, isValidVersion } from './firmware/identifiers.js';
import type { LinkTarget, PruneOptions, PruneReport, VersionView } from './registry/version-view.js';

/**
 * The seed's human-readable view of the store: `<root>/<name>/<version>/firmware.bin`, each a
 * hard link to its blob, so it costs no space and `sha256sum` on it matches the digest. It is
 * derived from the index and rebuilt from it at start-up, so a crash between the index write
 * and the link costs nothing. It belongs to the file-system store: an object store has none.
 * A blob with more versions than the file system allows links for (65,000 on ext4) is
 * copied into the view instead: the view must never stop a publish.
 */
export class VersionTree implements VersionView {
  readonly root: string;

  /** The tree over `store`'s data folder: links are made from its blobs through its temp folder. */
  constructor(private readonly store: FsBlobStore) {
    this.root = store.root;
  }

  pathOf(name: string, version: string): string {
    // The last guard before the file system: only checked names and versions become paths.
    if (!isValidName(name) || !isValidVersion(version)) {
      throw new Error(`refusing to build a path from name ${JSON.stringify(name)} and version ${JSON.stringify(version)}`);
    }
    return path.join(this.root, name, version, 'firmware.bin');
  }

  /**
   * Points `<name>/<version>/firmware.bin` at the record's blob. The link is made under a temp
   * name and renamed into place, so the name never shows a missing or half-made file.
   */
  async link({ name, version, digest }: LinkTarget): Promise<void> {
    const target = this.pathOf(name, version);
    const blobPath = this.store.pathOf(digest);
    const temp = this.store.tempPath('link');
    try {
      await fs.link(blobPath, temp);
    } catch (error) {
      // ext4 allows 65,000 links to one inode: past that, the view gets a read-only copy.
      if (!isErrnoCode(error, 'EMLINK')) throw error;
      await fs.copyFile(blobPath, temp, fs.constants.COPYFILE_FICLONE);
      await fs.chmod(temp, 0o444);
    }
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

  /**
   * Whether the version's file is the blob: the same inode, or (where the blob had no links
   * left) a copy of its size that nothing else links to.
   */
  async isLinked({ name, version, digest }: LinkTarget): Promise<boolean> {
    try {
      const [link, blob] = await Promise.all([fs.stat(this.pathOf(name, version)), fs.stat(this.store.pathOf(digest))]);
      if (link.ino === blob.ino && link.dev === blob.dev) return true;
      return link.isFile() && link.nlink === 1 && link.size === blob.size && blob.nlink >= MAX_LINKS_SEEN;
    } catch (error) {
      if (isErrnoCode(error, 'ENOENT', 'ENOTDIR')) return false;
      throw error;
    }
  }

  /**
   * Links of versions that are not published, when they are hard links to a stored blob (made
   * by this registry) and older than the cutoff; any other file in the tree (a copied-in Go
   * registry tree, say) is left alone and counted. The inode of every blob is taken now, before
   * gc removes any: a link gc may remove must be one of them.
   */
  async preparePrune(): Promise<(options: PruneOptions) => Promise<PruneReport>> {
    const blobInodes = new Set<string>();
    for await (const digest of this.store.list()) {
      const inode = await inodeOf(this.store.pathOf(digest));
      if (inode) blobInodes.add(inode);
    }
    return async ({ isPublished, cutoff, dryRun }) => {
      const report: PruneReport = { links: [], youngLinks: 0, foreignFiles: 0 };
      for await (const { name, version } of this.list()) {
        if (await isPublished(name, version)) continue;
        const link = await this.describe(name, version);
        if (!link || !blobInodes.has(link.inode)) {
          report.foreignFiles++;
          continue;
        }
        if (link.since >= cutoff) {
          report.youngLinks++;
          continue;
        }
        // Published again meanwhile (a publish makes its link after the row is durable).
        if (await isPublished(name, version)) continue;
        report.links.push({ name, version });
        if (!dryRun) await this.unlink(name, version);
      }
      return report;
    };
  }

  async exists(name: string, version: string): Promise<boolean> {
    return (await this.describe(name, version)) !== undefined;
  }

  /**
   * The version's file as gc judges it: its inode, and since when the link is there (its
   * folder's last change: the link is renamed into it; the file's own times are the blob's).
   */
  async describe(name: string, version: string): Promise<{ inode: string; since: number } | undefined> {
    const target = this.pathOf(name, version);
    try {
      const [file, folder] = await Promise.all([fs.lstat(target), fs.stat(path.dirname(target))]);
      if (!file.isFile()) return undefined;
      return { inode: inodeKey(file), since: folder.mtimeMs };
    } catch (error) {
      if (isErrnoCode(error, 'ENOENT', 'ENOTDIR')) return undefined;
      throw error;
    }
  }
}

/** A file's identity on this machine, to tell a link to a blob from any other file. */
export function inodeKey(stat: { dev: number; ino: number }): string {
  return `${stat.dev}:${stat.ino}`;
}

/**
 * A blob with this many links is at ext4's limit; copies are only ever made then. (Copies
 * made by a file system with a lower limit are looked at as missing, and copied again.)
 */
const MAX_LINKS_SEEN = 65_000;

async function inodeOf(file: string): Promise<string | undefined> {
  try {
    return inodeKey(await fs.stat(file));
  } catch (error) {
    if (isErrnoCode(error, 'ENOENT')) return undefined;
    throw error;
  }
}
