import fs from 'node:fs/promises';
import path from 'node:path';
import test from 'ava';
import { FsBlobStore } from '../src/cas/fs-blob-store.js';
import { firmwareBytes, sha256 } from './helpers/fixtures.js';
import { startRegistry } from './helpers/registry-server.js';
import { cli } from './helpers/run-cli.js';
import { tempDir } from './helpers/temp-dir.js';
import { storeUnpublished } from './helpers/unpublished-blob.js';

test('cli push: uploads new bytes, publishes known bytes by digest, and says when it was already there', async (t) => {
  const registry = await startRegistry(t);
  const dir = await tempDir(t);
  const file = path.join(dir, 'fw.bin');
  const bytes = firmwareBytes(300_000);
  await fs.writeFile(file, bytes);
  const url = ['--url', registry.url];

  const first = await cli(['push', file, '--name', 'base', '--version', '1.0.0', '--label', 'channel=beta', ...url]);
  t.is(first.code, 0, first.stderr);
  t.regex(first.stdout, new RegExp(`^published base 1\\.0\\.0 ${sha256(bytes)} 300000 bytes \\(uploaded\\)`));
  const second = await cli(['push', file, '--name', 'base', '--version', '1.0.1', ...url]);
  t.regex(second.stdout, /published base 1\.0\.1 .* \(by digest, no bytes sent, no new space\)/);
  const again = await cli(['push', file, '--name', 'base', '--version', '1.0.1', ...url]);
  t.regex(again.stdout, /^already published base 1\.0\.1/);

  const rows = (await registry.get('/firmware')).json<{ version: string; labels: object }[]>();
  t.deepEqual(rows.map((row) => row.version), ['1.0.1', '1.0.0']);
  t.deepEqual(rows[1]?.labels, { channel: 'beta' });
  t.true((await registry.get('/firmware/base/1.0.1')).body.equals(bytes));

  await fs.writeFile(file, firmwareBytes(10));
  const conflict = await cli(['push', file, '--name', 'base', '--version', '1.0.0', ...url]);
  t.is(conflict.code, 1);
  t.regex(conflict.stderr, /409 VERSION_EXISTS/);
});

test('cli push: uses the token from --token or SPORE_TOKEN; without one it fails with 401', async (t) => {
  const registry = await startRegistry(t, { REGISTRY_TOKENS: 'ci-secret' });
  const dir = await tempDir(t);
  const file = path.join(dir, 'fw.bin');
  await fs.writeFile(file, firmwareBytes());
  const denied = await cli(['push', file, '--name', 'base', '--version', '1.0.0', '--url', registry.url]);
  t.is(denied.code, 1);
  t.regex(denied.stderr, /401 UNAUTHORIZED/);
  t.is((await cli(['push', file, '--name', 'base', '--version', '1.0.0', '--url', registry.url, '--token', 'ci-secret'])).code, 0);
  t.is((await cli(['push', file, '--name', 'base', '--version', '1.0.1'], { env: { SPORE_URL: registry.url, SPORE_TOKEN: 'ci-secret' } })).code, 0);
});

test('cli ls: a table, filters by name and labels, and JSON', async (t) => {
  const registry = await startRegistry(t);
  await registry.publish({ name: 'base', version: '1.0.0', labels: { channel: 'stable' } }, firmwareBytes(10));
  await registry.publish({ name: 'base', version: '2.0.0-rc.1', labels: { channel: 'beta' } }, firmwareBytes(20));
  await registry.publish({ name: 'sensor', version: '0.1.0', labels: { channel: 'stable' } }, firmwareBytes(30));
  const all = await cli(['ls', '--url', registry.url]);
  t.is(all.code, 0);
  const lines = all.stdout.trim().split('\n');
  t.regex(lines[0] ?? '', /^NAME\s+VERSION\s+SIZE\s+SHA256\s+CREATED\s+LABELS$/);
  t.deepEqual(lines.slice(1).map((line) => line.split(/\s+/).slice(0, 3).join(' ')), ['base 2.0.0-rc.1 20', 'base 1.0.0 10', 'sensor 0.1.0 30']);
  const stable = await cli(['ls', '--url', registry.url, '--label', 'channel=stable', '--name', 'base', '--json']);
  t.deepEqual(JSON.parse(stable.stdout).map((row: { version: string }) => row.version), ['1.0.0']);
  const releases = await cli(['ls', '--url', registry.url, '--no-prerelease', '--json']);
  t.is(JSON.parse(releases.stdout).length, 2);
  t.is((await cli(['ls', '--url', registry.url, '--label', 'nonsense'])).code, 2);
});

test('cli pull: downloads and verifies; an unpublished version is one line', async (t) => {
  const registry = await startRegistry(t);
  const bytes = firmwareBytes(1_000_000);
  await registry.publish({ name: 'base', version: '1.0.0' }, bytes);
  const dir = await tempDir(t);
  const url = ['--url', registry.url];

  const fresh = await cli(['pull', 'base', '1.0.0', ...url], { cwd: dir });
  t.is(fresh.code, 0, fresh.stderr);
  t.true(bytes.equals(await fs.readFile(path.join(dir, 'base-1.0.0.bin'))));
  t.deepEqual(await fs.readdir(dir), ['base-1.0.0.bin']);

  const missing = await cli(['pull', 'base', '9.9.9', ...url], { cwd: dir });
  t.is(missing.code, 1);
  t.regex(missing.stderr, /not published/);
});

test('cli gc --url: the running registry removes an old orphan but not a fresh one', async (t) => {
  const registry = await startRegistry(t);
  await registry.publish({ name: 'base', version: '1.0.0' }, firmwareBytes(100));
  const old = firmwareBytes(300);
  const fresh = firmwareBytes(200);
  const oldBlob = await storeUnpublished(registry.dataDir, old, 3 * 3600_000);
  const freshBlob = await storeUnpublished(registry.dataDir, fresh);

  const dry = await cli(['gc', '--dry-run', '--url', registry.url]);
  t.is(dry.code, 0, dry.stderr);
  t.regex(dry.stdout, new RegExp(`would remove blob ${sha256(old)} \\(300 bytes\\)`));
  await t.notThrowsAsync(fs.access(oldBlob));

  const real = await cli(['gc', '--url', registry.url]);
  t.regex(real.stdout, new RegExp(`removed blob ${sha256(old)}`));
  t.regex(real.stdout, /kept 1 unreferenced blob/);
  await t.throwsAsync(fs.access(oldBlob));
  await t.notThrowsAsync(fs.access(freshBlob));
});

test('cli gc on local data: refused while the registry runs, done when it is stopped', async (t) => {
  const registry = await startRegistry(t);
  const orphan = firmwareBytes(100);
  await storeUnpublished(registry.dataDir, orphan);
  const local = ['gc', '--dir', registry.dataDir, '--db', registry.dbFile, '--grace', '0'];
  const refused = await cli(local);
  t.is(refused.code, 1);
  t.regex(refused.stderr, /in use by process .* use --url/);
  await registry.close();
  const done = await cli(local);
  t.is(done.code, 0, done.stderr);
  t.regex(done.stdout, new RegExp(`removed blob ${sha256(orphan)}`));
  t.is((await cli(['gc', '--grace', 'soon', '--dir', registry.dataDir, '--db', registry.dbFile])).code, 2, 'bad usage');
});

test('cli fsck: clean data passes; a flipped byte is damage; a lost link and an orphan are notes', async (t) => {
  const registry = await startRegistry(t);
  const good = firmwareBytes(50_000);
  const victim = firmwareBytes(50_000);
  await registry.publish({ name: 'base', version: '1.0.0' }, good);
  await registry.publish({ name: 'base', version: '2.0.0' }, victim);
  const local = ['fsck', '--dir', registry.dataDir, '--db', registry.dbFile];
  const clean = await cli(local);
  t.is(clean.code, 0, clean.stderr);
  t.regex(clean.stderr, /2 versions, 2 blobs.*no damage/);

  const store = await FsBlobStore.open(registry.dataDir);
  const blob = store.pathOf(sha256(victim));
  await fs.chmod(blob, 0o644);
  const handle = await fs.open(blob, 'r+');
  const byte = Buffer.alloc(1);
  await handle.read(byte, 0, 1, 12_345);
  byte[0] = (byte[0] ?? 0) ^ 0x01;
  await handle.write(byte, 0, 1, 12_345);
  await handle.close();
  await fs.rm(path.join(registry.dataDir, 'base', '1.0.0', 'firmware.bin'));
  await storeUnpublished(registry.dataDir, firmwareBytes(10));

  const damaged = await cli(local);
  t.is(damaged.code, 1);
  const problems = damaged.stdout.trim().split('\n');
  t.is(problems.length, 1, damaged.stdout);
  t.regex(problems[0] ?? '', new RegExp(`^damaged blob ${sha256(victim)}: its 50000 bytes hash to sha256:`));
  t.regex(damaged.stderr, /version link base\/1\.0\.0\/firmware\.bin is missing .* re-makes it/, 'a lost link is a note: the tree is derived');
  t.regex(damaged.stderr, /unreferenced blob sha256:[0-9a-f]{64} \(10 bytes\)/);
  t.regex(damaged.stderr, /1 problem\(s\)/);

  const nowhere = await cli(['fsck', '--dir', path.join(registry.home, 'nope'), '--db', registry.dbFile]);
  t.is(nowhere.code, 1);
  t.regex(nowhere.stderr, /no registry data folder/);
});
