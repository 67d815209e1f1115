import fs from 'node:fs/promises';
import path from 'node:path';
import test from 'ava';
import { cli } from './helpers/run-cli.js';
import { tempDir } from './helpers/temp-dir.js';

/** Nothing listens here: a command that got as far as connecting would fail with 1, not 2. */
const NOWHERE = 'http://127.0.0.1:1';

const badUsage: [string, string[]][] = [
  ['an invalid SemVer range', ['ls', '--range', 'nope', '--url', NOWHERE]],
  ['--grace with --url (the running registry uses its own)', ['gc', '--grace', '1h', '--url', NOWHERE]],
  ['--grace that is not a duration', ['gc', '--grace', 'soon', '--dir', 'data', '--db', 'index.db']],
  ['--url that is not a URL', ['ls', '--url', 'notaurl']],
  ['--url without http(s)', ['pull', 'base', '1.0.0', '--url', 'localhost:3002']],
  ['--url with another scheme', ['push', 'fw.bin', '--name', 'base', '--version', '1.0.0', '--url', 'ftp://fw.example.com']],
];

for (const [what, args] of badUsage) {
  test.serial(`cli usage: ${what} exits 2 with one line on what to do`, async (t) => {
    const result = await cli(args, { cwd: await tempDir(t) });
    t.is(result.code, 2, result.stderr);
    t.notRegex(result.stderr, /^\s+at /m, 'no stack trace');
    t.regex(result.stderr, /--help/);
  });
}

test.serial('cli usage: push of a file that is not there says why, in one line', async (t) => {
  const result = await cli(['push', 'nosuch.bin', '--name', 'base', '--version', '1.0.0', '--url', NOWHERE], { cwd: await tempDir(t) });
  t.is(result.code, 1);
  t.regex(result.stderr, /^spore-registry: push base 1\.0\.0: cannot read nosuch\.bin: no such file\n$/);
});

test.serial('cli usage: push of a folder says why', async (t) => {
  const dir = await tempDir(t);
  await fs.mkdir(path.join(dir, 'build'));
  const result = await cli(['push', 'build', '--name', 'base', '--version', '1.0.0', '--url', NOWHERE], { cwd: dir });
  t.is(result.code, 1);
  t.regex(result.stderr, /cannot read build: it is a folder/);
});

test.serial('cli usage: --version prints the package version; push --version is still the firmware version', async (t) => {
  const { version } = JSON.parse(await fs.readFile(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  for (const flag of ['--version', '-V']) {
    const result = await cli([flag]);
    t.is(result.code, 0, result.stderr);
    t.is(result.stdout, `${version}\n`);
  }
  const push = await cli(['push', 'nosuch.bin', '--name', 'base', '--version', '1.0.0', '--url', NOWHERE]);
  t.regex(push.stderr, /push base 1\.0\.0/);
});

test.serial('cli usage: SPORE_URL that is not a URL is bad usage too', async (t) => {
  const result = await cli(['ls'], { env: { SPORE_URL: 'fw.example.com' } });
  t.is(result.code, 2, result.stderr);
  t.regex(result.stderr, /SPORE_URL/);
});

test.serial('cli usage: output into a pipe that is closed (| head) ends quietly, without a stack', async (t) => {
  const { spawn } = await import('node:child_process');
  const { BIN } = await import('./helpers/child-server.js');
  const child = spawn(process.execPath, [BIN, '--help'], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.destroy(); // the reader is gone before the first line is written
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await new Promise((resolve) => child.on('close', resolve));
  t.is(stderr, '');
  t.is(code, 0);
});
