import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test, { type ExecutionContext } from 'ava';

/**
 * Makes a file immutable (chattr +i): from then on every write to it fails with EPERM, even
 * through a descriptor opened before and even for root. A real fault, injected from outside
 * the registry. Returns the function that clears it (also called when the test ends).
 */
export function immutable(t: ExecutionContext, file: string): () => void {
  const set = spawnSync('chattr', ['+i', file], { encoding: 'utf8' });
  if (set.status !== 0) throw new Error(`chattr +i ${file} failed: ${set.error?.message ?? set.stderr.trim()}`);
  let cleared = false;
  const clear = () => {
    if (cleared) return;
    cleared = true;
    spawnSync('chattr', ['-i', file]);
  };
  t.teardown(clear);
  return clear;
}

/** Why chattr +i cannot inject faults on this machine (tried on a file in the temp folder), if it cannot. */
function whyNoChattr(): string | undefined {
  if (process.getuid?.() !== 0) return 'they need root (chattr +i)';
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'spore-chattr-'));
  const file = path.join(dir, 'probe');
  fs.writeFileSync(file, '');
  try {
    const set = spawnSync('chattr', ['+i', file], { encoding: 'utf8' });
    if (set.error) return 'chattr is not installed (apt-get install e2fsprogs)';
    if (set.status !== 0) return `the temp folder's file system does not take chattr +i (${set.stderr.trim()})`;
    spawnSync('chattr', ['-i', file]);
    return undefined;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const missing = whyNoChattr();
if (missing) console.warn(`fault-injection tests are skipped: ${missing}`);

/** `test` where faults can be injected with chattr, `test.skip` (reported as skipped) elsewhere. */
export const faultTest = missing ? test.skip : test;
