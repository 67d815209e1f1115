import { spawnSync } from 'node:child_process';
import type { ExecutionContext } from 'ava';

/**
 * Makes a file immutable (chattr +i): from then on every write to it fails with EPERM, even
 * through a descriptor opened before and even for root. A real fault, injected from outside
 * the registry. Returns `undefined` (and says why in the test log) where chattr cannot work:
 * not root, no chattr, or a file system without the flag.
 */
export function immutable(t: ExecutionContext, file: string): (() => void) | undefined {
  const set = spawnSync('chattr', ['+i', file], { encoding: 'utf8' });
  if (set.status !== 0) {
    t.log(`skipped: chattr +i is not available here (${set.error?.message ?? set.stderr.trim()})`);
    return undefined;
  }
  let cleared = false;
  const clear = () => {
    if (cleared) return;
    cleared = true;
    spawnSync('chattr', ['-i', file]);
  };
  t.teardown(clear);
  return clear;
}

/** Whether chattr +i can be used for fault injection on this machine (root, and chattr). */
export function canMakeImmutable(): boolean {
  return process.getuid?.() === 0 && spawnSync('chattr', ['--help']).error === undefined;
}
