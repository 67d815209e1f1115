import { spawnSync } from 'node:child_process';
import { packageFile } from '../../src/package-file.js';

let built = false;

/**
 * Compiles the web page's modules (ui/ → dist/ui/), as `npm run build` and `npm test` do, so a
 * test run on its own (`npx ava test/ui/…`) serves the page as its source is now. Once per
 * process; ava's own compile step only knows tsconfig.json.
 */
export function buildUi(): void {
  if (built) return;
  const tsc = packageFile('node_modules/typescript/bin/tsc');
  const result = spawnSync(process.execPath, [tsc, '-p', packageFile('ui/tsconfig.json')], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`the web page does not compile:\n${result.stdout}${result.stderr}`);
  built = true;
}
