import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs/promises';
import path from 'node:path';
import test from 'ava';
import { firmwareBytes, sha256 } from './helpers/fixtures.js';
import { BIN, spawnServer } from './helpers/child-server.js';
import { tempDir } from './helpers/temp-dir.js';

const serve = spawnServer;

function curl(...args: string[]): string {
  const result = spawnSync('curl', ['-sS', '--fail-with-body', ...args], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`curl ${args.join(' ')}: ${result.stderr}${result.stdout}`);
  return result.stdout;
}

test("cli: the seed README's curl commands work verbatim, in ./registry and ./registry.db", async (t) => {
  const dir = await tempDir(t);
  const { child, url } = await serve(t, dir);
  const bytes = firmwareBytes(50_000);
  await fs.writeFile(path.join(dir, 'firmware.bin'), bytes);
  const upload = JSON.parse(
    spawnSync(
      'curl',
      ['-sS', '-X', 'POST', `${url}/firmware`, '-F', 'metadata={"name":"base","version":"1.0.0","labels":{"app":"base"}}', '-F', 'firmware=@firmware.bin'],
      { cwd: dir, encoding: 'utf8' },
    ).stdout,
  );
  t.like(upload, { success: true, name: 'base', version: '1.0.0', size: bytes.length, sha256: sha256(bytes) });
  t.is(JSON.parse(curl(`${url}/firmware`)).length, 1);
  t.is(JSON.parse(curl(`${url}/firmware?name=base`))[0].name, 'base');
  t.is(JSON.parse(curl(`${url}/firmware?version=1.0.0`))[0].version, '1.0.0');
  spawnSync('curl', ['-sS', `${url}/firmware/base/1.0.0`, '-o', 'downloaded.bin'], { cwd: dir });
  t.true(bytes.equals(await fs.readFile(path.join(dir, 'downloaded.bin'))));
  t.is(JSON.parse(curl(`${url}/health`)).status, 'ok');

  t.true(bytes.equals(await fs.readFile(path.join(dir, 'registry', 'base', '1.0.0', 'firmware.bin'))), 'default ./registry');
  await t.notThrowsAsync(fs.access(path.join(dir, 'registry.db')), 'default ./registry.db');

  child.kill('SIGTERM');
  const [code] = await once(child, 'exit');
  t.is(code, 0, 'SIGTERM is a clean shutdown');
});

test('cli: SIGINT stops the server cleanly and releases the index', async (t) => {
  const dir = await tempDir(t);
  const { child, lines, exited } = await serve(t, dir);
  child.kill('SIGINT');
  t.is(await exited, 0);
  t.true(lines.some((line) => line.includes('spore-registry stopped')));
  await t.throwsAsync(fs.access(path.join(dir, 'registry.db.lock')));
});

test('cli: flags override the environment', async (t) => {
  const dir = await tempDir(t);
  const env = { REGISTRY_DIR: 'env-data', REGISTRY_DB: 'env.db', PORT: '1', HOST: '0.0.0.0' };
  const { child, url } = await serve(t, dir, env, ['--dir', 'data', '--db', 'index.db', '--port', '0', '--host', '127.0.0.1']);
  child.kill('SIGTERM');
  await once(child, 'exit');
  t.regex(url, /^http:\/\/127\.0\.0\.1:\d+$/);
  t.deepEqual((await fs.readdir(dir)).sort(), ['data', 'index.db', 'index.db.journal.00000001']);
});

test('cli: invalid configuration exits 1 and names every problem', (t) => {
  const result = spawnSync(process.execPath, [BIN], {
    env: { ...process.env, PORT: 'eighty', MAX_UPLOAD_BYTES: '-5', PUBLIC_URL: 'ftp://x' },
    encoding: 'utf8',
  });
  t.is(result.status, 1);
  t.regex(result.stderr, /PORT/);
  t.regex(result.stderr, /MAX_UPLOAD_BYTES/);
  t.regex(result.stderr, /PUBLIC_URL/);
  t.notRegex(result.stderr, /at .*\.js:\d+/, 'no stack trace');
});

test('cli: a second server on the same data exits 1 with INDEX_LOCKED explained', async (t) => {
  const dir = await tempDir(t);
  await serve(t, dir);
  const second = spawnSync(process.execPath, [BIN], { cwd: dir, env: { ...process.env, PORT: '0', HOST: '127.0.0.1' }, encoding: 'utf8' });
  t.is(second.status, 1);
  t.regex(second.stderr, /in use by process \d+/);
});

test('cli: bad usage exits 2, --help exits 0', (t) => {
  const unknown = spawnSync(process.execPath, [BIN, 'frobnicate'], { encoding: 'utf8' });
  t.is(unknown.status, 2);
  t.regex(unknown.stderr, /unknown command "frobnicate"/);
  const badFlag = spawnSync(process.execPath, [BIN, '--no-such-flag'], { encoding: 'utf8' });
  t.is(badFlag.status, 2);
  const help = spawnSync(process.execPath, [BIN, '--help'], { encoding: 'utf8' });
  t.is(help.status, 0);
  t.regex(help.stdout, /push/);
  const serveHelp = spawnSync(process.execPath, [BIN, 'serve', '--help'], { encoding: 'utf8' });
  t.is(serveHelp.status, 0);
  t.regex(serveHelp.stdout, /REGISTRY_DIR/);
});
