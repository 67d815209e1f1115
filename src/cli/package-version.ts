import fs from 'node:fs/promises';
import { packageFile } from '../package-file.js';

/** The version in the package's own package.json: what `--version` prints. */
export async function packageVersion(): Promise<string> {
  const { version } = JSON.parse(await fs.readFile(packageFile('package.json'), 'utf8')) as { version?: unknown };
  return typeof version === 'string' ? version : 'unknown';
}
