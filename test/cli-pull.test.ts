import fs from 'node:fs/promises';
import path from 'node:path';
import test from 'ava';
import { cuttingProxy } from './helpers/cutting-proxy.js';
import { firmwareBytes } from './helpers/fixtures.js';
import { request } from './helpers/http.js';
import { startRegistry } from './helpers/registry-server.js';
import { cli } from './helpers/run-cli.js';
import { tempDir } from './helpers/temp-dir.js';

const exists = (file: string) => fs.access(file).then(
  () => true,
  () => false,
);

/** One line on standard error, no stack trace: what failed and what to do. */
function oneLine(t: import('ava').ExecutionContext, stderr: string): string {
  const lines = stderr.trim().split('\n');
  t.is(lines.length, 1, stderr);
  t.notRegex(stderr, /^\s+at /m, 'no stack trace');
  return lines[0] ?? '';
}

test('cli pull: a download cut off mid-way fails in one line, and the next pull resumes where it stopped', async (t) => {
  const registry = await startRegistry(t);
  const bytes = firmwareBytes(1_000_000);
  await registry.publish({ name: 'base', version: '1.0.0' }, bytes);
  const out = path.join(await tempDir(t), 'fw.bin');
  const flaky = await cuttingProxy(t, registry.url, 300_000);

  const cut = await cli(['pull', 'base', '1.0.0', '-o', out, '--url', flaky]);
  t.is(cut.code, 1);
  t.regex(oneLine(t, cut.stderr), /connection .*after 300000 of 1000000 bytes.*run pull again/);
  t.is((await fs.stat(`${out}.part`)).size, 300_000, 'every byte that arrived is kept');
  t.false(await exists(out));

  const resumed = await cli(['pull', 'base', '1.0.0', '-o', out, '--url', registry.url]);
  t.is(resumed.code, 0, resumed.stderr);
  t.regex(resumed.stdout, /resumed at byte 300000/);
  t.true(bytes.equals(await fs.readFile(out)));
  t.like(registry.logs.findLast((line) => line.path === '/firmware/base/1.0.0' && line.method === 'GET'), { status: 206 });
  t.deepEqual(await fs.readdir(path.dirname(out)), ['fw.bin'], 'no .part, no .part.etag left');
});

test('cli pull: a .part of firmware that has changed since is started over, not resumed', async (t) => {
  const registry = await startRegistry(t);
  const before = firmwareBytes(1_000_000);
  await registry.publish({ name: 'base', version: '1.0.0' }, before);
  const out = path.join(await tempDir(t), 'fw.bin');
  t.is((await cli(['pull', 'base', '1.0.0', '-o', out, '--url', await cuttingProxy(t, registry.url, 300_000)])).code, 1);

  // Withdrawn and published again with other bytes: the .part holds the old firmware's start.
  t.is((await request(`${registry.url}/firmware/base/1.0.0`, { method: 'DELETE' })).status, 204);
  const after = firmwareBytes(1_000_000);
  t.is((await registry.publish({ name: 'base', version: '1.0.0' }, after)).status, 201);

  const pulled = await cli(['pull', 'base', '1.0.0', '-o', out, '--url', registry.url]);
  t.is(pulled.code, 0, pulled.stderr);
  t.notRegex(pulled.stdout, /resumed/);
  t.true(after.equals(await fs.readFile(out)));
  t.deepEqual(await fs.readdir(path.dirname(out)), ['fw.bin']);
});

test('cli pull: a .part that does not hash right after resuming is removed, with its ETag', async (t) => {
  const registry = await startRegistry(t);
  await registry.publish({ name: 'base', version: '1.0.0' }, firmwareBytes(1_000_000));
  const out = path.join(await tempDir(t), 'fw.bin');
  t.is((await cli(['pull', 'base', '1.0.0', '-o', out, '--url', await cuttingProxy(t, registry.url, 300_000)])).code, 1);
  const handle = await fs.open(`${out}.part`, 'r+');
  await handle.write(Buffer.from([0x55]), 0, 1, 1234);
  await handle.close();

  const bad = await cli(['pull', 'base', '1.0.0', '-o', out, '--url', registry.url]);
  t.is(bad.code, 1);
  t.regex(oneLine(t, bad.stderr), /hashes to sha256:[0-9a-f]{64}, not sha256:.*removed, run pull again/);
  t.deepEqual(await fs.readdir(path.dirname(out)), []);
});

test('cli pull: an output folder that does not exist is one line saying so', async (t) => {
  const registry = await startRegistry(t);
  await registry.publish({ name: 'base', version: '1.0.0' }, firmwareBytes(1000));
  const dir = await tempDir(t);
  const result = await cli(['pull', 'base', '1.0.0', '-o', 'nodir/x', '--url', registry.url], { cwd: dir });
  t.is(result.code, 1);
  t.regex(oneLine(t, result.stderr), /nodir.*(does not exist|no such folder)/);
  t.deepEqual(await fs.readdir(dir), []);
});
