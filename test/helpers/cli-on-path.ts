import fs from 'node:fs/promises';
import path from 'node:path';
import type { ExecutionContext } from 'ava';
import { BIN } from './child-server.js';
import { tempDir } from './temp-dir.js';

/**
 * A PATH on which `spore-registry` is the built executable, as `npm link` puts it there, so
 * README lines that call `spore-registry` run as written.
 */
export async function pathWithCli(t: ExecutionContext): Promise<string> {
  const bin = path.join(await tempDir(t), 'bin');
  await fs.mkdir(bin);
  const launcher = path.join(bin, 'spore-registry');
  await fs.writeFile(launcher, `#!/bin/sh\nexec '${process.execPath}' '${BIN}' "$@"\n`, { mode: 0o755 });
  return `${bin}${path.delimiter}${process.env.PATH ?? ''}`;
}
