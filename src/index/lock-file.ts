import { createHash, randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { isErrnoCode, RegistryError } from '../errors.js';

interface LockOwner {
  pid: number;
  host: string;
  since: string;
}

/**
 * Takes the index at `file` so that two registries never share it: each would write changes
 * the other does not see. Resolves to the function that releases it.
 *
 * On one host the lock is a listening Unix socket in Linux's abstract namespace, named after
 * the index's folder (device and inode) and file name. Binding it is atomic and exclusive, and
 * the kernel frees it the moment its process dies, however it dies: there is no stale lock to
 * take over, so eight servers started at once after a `kill -9` cannot both win.
 *
 * Across hosts (a shared folder) no socket helps, so `<file>.lock` names the owner's host: a
 * lock file from another host refuses the start (remove it once that host is known to be
 * gone). A lock file from this host whose socket is free is left from a dead process and is
 * simply replaced.
 */
export async function acquireLock(file: string): Promise<() => Promise<void>> {
  const lockPath = `${file}.lock`;
  const server = await bindLockSocket(file).catch(async (error: unknown) => {
    if (!isErrnoCode(error, 'EADDRINUSE')) throw error;
    throw locked(file, (await readOwner(lockPath)) ?? { pid: 0, host: os.hostname(), since: '' });
  });
  try {
    const owner = await readOwner(lockPath);
    if (owner && owner.host !== os.hostname()) throw locked(file, owner);
    const me: LockOwner = { pid: process.pid, host: os.hostname(), since: new Date().toISOString() };
    const draft = `${lockPath}.${randomUUID()}`;
    await fs.writeFile(draft, `${JSON.stringify(me)}\n`, { flag: 'wx' });
    await fs.rename(draft, lockPath);
    return async () => {
      const current = await readOwner(lockPath);
      if (current?.pid === me.pid && current.host === me.host && current.since === me.since) await fs.rm(lockPath, { force: true });
      await new Promise<void>((resolve) => server.close(() => resolve()));
    };
  } catch (error) {
    server.close();
    throw error;
  }
}

async function bindLockSocket(file: string): Promise<net.Server> {
  const folder = await fs.stat(path.dirname(file));
  const id = createHash('sha256').update(`${folder.dev}:${folder.ino}:${path.basename(file)}`).digest('hex').slice(0, 40);
  const server = net.createServer((socket) => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ path: `\0spore-registry-index-${id}`, exclusive: true }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  // The lock must not keep the process alive by itself.
  server.unref();
  return server;
}

async function readOwner(lockPath: string): Promise<LockOwner | undefined> {
  try {
    return JSON.parse(await fs.readFile(lockPath, 'utf8')) as LockOwner;
  } catch (error) {
    // Gone, or half-written by a starter that died: either way nobody holds it.
    if (isErrnoCode(error, 'ENOENT') || error instanceof SyntaxError) return undefined;
    throw error;
  }
}

function locked(file: string, owner: LockOwner): RegistryError {
  const who = owner.pid ? `process ${owner.pid} on ${owner.host}` : 'another process';
  return new RegistryError(
    'INDEX_LOCKED',
    `${file} is in use by ${who}; two registries must not share one index${owner.host === os.hostname() ? '' : ` (if that host is gone, remove ${file}.lock)`}`,
    { file, pid: owner.pid, host: owner.host },
  );
}
