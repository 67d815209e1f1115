import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import { isErrnoCode, RegistryError } from '../errors.js';

interface LockOwner {
  pid: number;
  host: string;
  since: string;
}

/** Locks this process holds. Locks are per process, so this is process-wide by nature. */
const heldHere = new Set<string>();

/**
 * Takes `<file>.lock` so that two registries never share one index: each would overwrite
 * the other's snapshots. The lock names its owner; a lock whose owner process is gone on this
 * host (killed, crashed) is stale and taken over. The lock appears with `link(2)`, which
 * fails when the name exists, so two starters cannot both win.
 *
 * Resolves to the function that releases the lock.
 */
export async function acquireLock(file: string): Promise<() => Promise<void>> {
  const lockPath = `${file}.lock`;
  if (heldHere.has(lockPath)) throw locked(file, { pid: process.pid, host: os.hostname(), since: '' });
  const me: LockOwner = { pid: process.pid, host: os.hostname(), since: new Date().toISOString() };
  const draft = `${lockPath}.${randomUUID()}`;
  await fs.writeFile(draft, `${JSON.stringify(me)}\n`, { flag: 'wx' });
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        await fs.link(draft, lockPath);
        break;
      } catch (error) {
        if (!isErrnoCode(error, 'EEXIST') || attempt >= 3) throw error;
      }
      const owner = await readOwner(lockPath);
      if (owner && isAlive(owner)) throw locked(file, owner);
      // Stale: its owner is gone. Removing it can race another starter doing the same;
      // the link above still lets only one of us win.
      await fs.rm(lockPath, { force: true });
    }
  } finally {
    await fs.rm(draft, { force: true });
  }
  heldHere.add(lockPath);
  return async () => {
    heldHere.delete(lockPath);
    const owner = await readOwner(lockPath);
    if (owner?.pid === me.pid && owner.host === me.host && owner.since === me.since) {
      await fs.rm(lockPath, { force: true });
    }
  };
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

function isAlive(owner: LockOwner): boolean {
  // Another host's process cannot be checked from here: assume it is running.
  if (owner.host !== os.hostname()) return true;
  // Our own pid, but not held by this process: a previous run in a container, where every
  // run gets the same pid.
  if (owner.pid === process.pid) return false;
  try {
    process.kill(owner.pid, 0);
    return true;
  } catch (error) {
    return isErrnoCode(error, 'EPERM');
  }
}

function locked(file: string, owner: LockOwner): RegistryError {
  return new RegistryError(
    'INDEX_LOCKED',
    `${file} is in use by process ${owner.pid} on ${owner.host}; two registries must not share one index (if that process is gone, remove ${file}.lock)`,
    { file, pid: owner.pid, host: owner.host },
  );
}
