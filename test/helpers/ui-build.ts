import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { packageFile } from '../../src/package-file.js';

/**
 * Compiles the web page's modules (ui/src → dist/ui), as `npm run build` and `npm test` do, so
 * that a test run on its own (`npx ava test/ui/…`) serves the page as its source is now; ava's
 * own compile step only knows tsconfig.json. Skipped when every module is newer than its
 * source (as after `npm test`'s pretest), so test files running at once do not all rebuild.
 */
export function buildUi(): void {
  if (upToDate()) return;
  const tsc = packageFile('node_modules/typescript/bin/tsc');
  const result = spawnSync(process.execPath, [tsc, '-p', packageFile('ui/tsconfig.json')], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`the web page does not compile:\n${result.stdout}${result.stderr}`);
}

function upToDate(): boolean {
  const sources = packageFile('ui/src');
  const compiled = packageFile('dist/ui');
  const config = fs.statSync(packageFile('ui/tsconfig.json')).mtimeMs;
  return fs.readdirSync(sources).every((name) => {
    const source = fs.statSync(path.join(sources, name)).mtimeMs;
    const output = fs.statSync(path.join(compiled, name.replace(/\.ts$/, '.js')), { throwIfNoEntry: false })?.mtimeMs;
    return output !== undefined && output >= source && output >= config;
  });
}
