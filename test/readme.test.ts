import { spawnSync } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import test from 'ava';
import { ceph, cephTest } from './helpers/ceph.js';
import { spawnServer, spawnShellServer, type ChildServer } from './helpers/child-server.js';
import { pathWithCli } from './helpers/cli-on-path.js';
import { firmwareBytes } from './helpers/fixtures.js';
import { request } from './helpers/http.js';
import { firmwareUpload } from './helpers/multipart.js';
import { readmeShellBlocks } from './helpers/readme.js';
import { sha256 } from './helpers/fixtures.js';
import { tempDir } from './helpers/temp-dir.js';

/** The package's own folder (the tests run from dist/test). */
const PACKAGE = fileURLToPath(new URL('../../', import.meta.url));

/** Runs README lines with sh, stopping at the first that fails, as a user pasting them would notice. */
function sh(script: string, cwd: string, env: Record<string, string> = {}, trace = false) {
  return spawnSync('sh', [trace ? '-eux' : '-eu', '-c', script], { cwd, env: { ...process.env, ...env }, encoding: 'utf8' });
}

async function publish(server: ChildServer, name: string, version: string, bytes: Buffer): Promise<void> {
  const upload = firmwareUpload({ name, version }, bytes);
  const answer = await request(`${server.url}/firmware`, { method: 'POST', headers: { 'Content-Type': upload.contentType }, body: upload.body });
  if (answer.status !== 201) throw new Error(`publish ${name} ${version}: ${answer.status} ${answer.body.toString()}`);
}

/** How many curl commands a script run with `sh -x` executed (the trace is on standard error). */
const curls = (stderr: string) => stderr.split('\n').filter((line) => /^\+ curl /.test(line)).length;

test('readme: the publish-by-digest fallback uploads the bytes the registry lacks, and sends none it has', async (t) => {
  const [block] = readmeShellBlocks('## Using it').filter((text) => text.includes('sha256sum'));
  t.truthy(block);
  // The README's address is the default port; the test's registry is on a free one.
  const script = (url: string) => (block ?? '').replaceAll('http://localhost:3002', url);
  const bytes = firmwareBytes(100_000);

  const lacking = await spawnServer(t, await tempDir(t));
  const cwd = await tempDir(t);
  await fs.writeFile(path.join(cwd, 'firmware.bin'), bytes);
  const uploaded = sh(script(lacking.url), cwd, {}, true);
  t.is(uploaded.status, 0, uploaded.stderr);
  t.is(curls(uploaded.stderr), 2, 'by digest, refused, then uploaded');
  t.true((await request(`${lacking.url}/firmware/base/1.0.1`)).body.equals(bytes), 'uploaded when the registry lacked the bytes');

  const having = await spawnServer(t, await tempDir(t));
  await publish(having, 'base', '1.0.0', bytes);
  const byDigest = sh(script(having.url), cwd, {}, true);
  t.is(byDigest.status, 0, byDigest.stderr);
  t.is(curls(byDigest.stderr), 1, 'published by digest: the bytes were not sent again');
  t.true((await request(`${having.url}/firmware/base/1.0.1`)).body.equals(bytes));
});

test('readme: the Command line section runs as written', async (t) => {
  const cwd = await tempDir(t);
  const env = { PATH: await pathWithCli(t), PORT: '0', HOST: '127.0.0.1' };
  const lines = readmeShellBlocks('## Command line')
    .flatMap((block) => block.split('\n'))
    .filter((line) => line.startsWith('spore-registry'));
  const serveLine = lines.find((line) => line.startsWith('spore-registry serve')) ?? '';
  // The README's port is the default; the test's registry takes a free one.
  const server = await spawnShellServer(t, cwd, serveLine.replace('--port 3002', '--port 0'), env);
  await fs.mkdir(path.join(cwd, 'build'));
  const bytes = firmwareBytes(100_000);
  await fs.writeFile(path.join(cwd, 'build', 'fw.bin'), bytes);
  for (const line of lines.filter((other) => other !== serveLine)) {
    const result = sh(line.replaceAll('http://fw:3002', server.url), cwd, { ...env, SPORE_URL: server.url });
    t.is(result.status, 0, `${line}\n${result.stderr}`);
  }
  t.true(bytes.equals(await fs.readFile(path.join(cwd, 'fw.bin'))), 'pushed, then pulled');
});

test('readme: the backup procedure, run as written beside a running registry, makes a copy a registry serves again', async (t) => {
  // The package as installed, with the registry running in it as `npm start` runs it.
  const home = await tempDir(t);
  const app = path.join(home, 'app');
  await fs.mkdir(app);
  for (const part of ['scripts', 'dist']) await fs.symlink(path.join(PACKAGE, part), path.join(app, part));
  const env = { PATH: await pathWithCli(t), PORT: '0', HOST: '127.0.0.1' };
  const server = await spawnServer(t, app);
  const versions = new Map<string, Buffer>([
    ['1.0.0', firmwareBytes(50_000)],
    ['1.1.0', firmwareBytes(70_000)],
  ]);
  versions.set('1.1.1', versions.get('1.1.0') ?? Buffer.alloc(0)); // one blob, two versions
  for (const [version, bytes] of versions) await publish(server, 'base', version, bytes);
  await fs.writeFile(path.join(app, 'registry', '.tmp', 'upload-in-flight'), 'partial');

  const [backup, restore] = readmeShellBlocks('### Backups');
  t.truthy(backup);
  t.truthy(restore);
  const first = sh(backup ?? '', app, env);
  t.is(first.status, 0, first.stdout + first.stderr);
  t.regex(first.stderr, /3 versions, 2 blobs.*no damage/);

  // Backups are repeated into the same place: a new version, the old blobs already there.
  versions.set('2.0.0', firmwareBytes(30_000));
  await publish(server, 'base', '2.0.0', versions.get('2.0.0') ?? Buffer.alloc(0));
  const second = sh(backup ?? '', app, env);
  t.is(second.status, 0, second.stdout + second.stderr);
  t.regex(second.stderr, /4 versions, 3 blobs.*no damage/);
  server.child.kill('SIGTERM');
  t.is(await server.exited, 0);

  const restored = await spawnShellServer(t, app, (restore ?? '').trim(), env);
  const listed = (await request(`${restored.url}/firmware`)).body.toString();
  t.is((JSON.parse(listed) as unknown[]).length, versions.size, listed);
  for (const [version, bytes] of versions) {
    t.true((await request(`${restored.url}/firmware/base/${version}`)).body.equals(bytes), `base ${version} downloads from the restored copy`);
    const link = path.join(app, '..', 'spore-backup', 'registry', 'base', version, 'firmware.bin');
    t.true(bytes.equals(await fs.readFile(link)), `the restored copy has its tree back: base/${version}`);
  }
});

cephTest('readme: the Ceph RGW example of Blobs in S3, run as written against a throw-away Ceph, keeps published firmware in the bucket', async (t) => {
  const rgw = await ceph();
  const [block] = readmeShellBlocks('### Blobs in S3').filter((text) => text.includes('radosgw-admin'));
  t.truthy(block);
  // The README's RGW is on radosgw's usual port; the test's is on a free one. Ceph's tools
  // find the cluster through CEPH_CONF, as on a Ceph host they find /etc/ceph/ceph.conf.
  const lines = (block ?? '').replaceAll('http://127.0.0.1:7480', rgw.endpoint).replace(/\\\n\s*/g, '').split('\n');
  const serveLine = lines.find((line) => line.includes('spore-registry serve')) ?? '';
  const cwd = await tempDir(t);
  const env = { PATH: await pathWithCli(t), CEPH_CONF: rgw.conf };
  for (const line of lines.filter((other) => other !== serveLine)) {
    const result = sh(line, cwd, env);
    t.is(result.status, 0, `${line}\n${result.stderr}`);
  }
  const server = await spawnShellServer(t, cwd, serveLine, env);
  const bytes = firmwareBytes(100_000);
  await publish(server, 'base', '1.0.0', bytes);
  t.true((await request(`${server.url}/firmware/base/1.0.0`)).body.equals(bytes));

  const client = new S3Client({ endpoint: rgw.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'spore', secretAccessKey: 'spore-secret' }, responseChecksumValidation: 'WHEN_REQUIRED' });
  t.teardown(() => client.destroy());
  const stored = await client.send(new GetObjectCommand({ Bucket: 'firmware', Key: `sha256/${sha256(bytes).slice(7)}` }));
  t.true(Buffer.from(await stored.Body!.transformToByteArray()).equals(bytes), 'the bytes are an object of the bucket, under their SHA-256');
});
