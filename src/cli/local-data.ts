import fs from 'node:fs/promises';
import { DEFAULTS, type Environment } from '../config/config.js';
import { CliError } from './cli-error.js';

export interface LocalData {
  dir: string;
  db: string;
}

/** The data folder and index a local command works on: flags, then environment, then defaults. */
export async function localData(options: { dir?: string; db?: string }, env: Environment): Promise<LocalData> {
  const dir = options.dir ?? env.REGISTRY_DIR ?? DEFAULTS.REGISTRY_DIR;
  const db = options.db ?? env.REGISTRY_DB ?? DEFAULTS.REGISTRY_DB;
  for (const [what, file] of [
    ['data folder', dir],
    ['index', db],
  ]) {
    try {
      await fs.access(file as string);
    } catch {
      throw new CliError(`no registry ${what} at ${file} (set --dir and --db, or REGISTRY_DIR and REGISTRY_DB)`);
    }
  }
  return { dir, db };
}
