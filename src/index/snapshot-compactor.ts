import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { listSegments } from './journal-files.js';

const run = promisify(execFile);
const SCRIPT = fileURLToPath(new URL('./compact-process.js', import.meta.url));

export interface CompactionResult {
  /** The last change the new snapshot holds. */
  seq: number;
  /** Changes the new snapshot took from the journal. */
  applied: number;
  bytes: number;
  ms: number;
  /** Journal segments removed because the snapshot holds them. */
  removedSegments: number;
}

/**
 * Folds the closed journal segments (numbers up to `through`) into a new snapshot, in a
 * child process, then removes them. A crash at any point is safe:
 *   - before the rename, the old snapshot and every segment are still there;
 *   - after it, the new snapshot records the last change it holds, so replaying segments it
 *     already holds skips them, and the next snapshot removes them.
 */
export async function compact(dbFile: string, through: number, signal?: AbortSignal): Promise<CompactionResult> {
  const { stdout } = await run(process.execPath, [SCRIPT, dbFile, String(through)], { signal, maxBuffer: 1024 * 1024 });
  const result = JSON.parse(stdout) as Omit<CompactionResult, 'removedSegments'>;
  let removedSegments = 0;
  for (const segment of await listSegments(dbFile)) {
    if (segment.number > through) continue;
    await fs.rm(segment.file, { force: true });
    removedSegments++;
  }
  return { ...result, removedSegments };
}
