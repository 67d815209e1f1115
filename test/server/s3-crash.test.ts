import http from 'node:http';
import { GetObjectCommand, ListMultipartUploadsCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import type { ExecutionContext } from 'ava';
import { ceph, cephTest, rawClient } from '../helpers/ceph.js';
import { spawnServer } from '../helpers/child-server.js';
import { firmwareBytes, sha256 } from '../helpers/fixtures.js';
import { request } from '../helpers/http.js';
import { firmwareUpload } from '../helpers/multipart.js';
import { cli } from '../helpers/run-cli.js';
import { newBucket, s3Env } from '../helpers/stores.js';
import { tempDir } from '../helpers/temp-dir.js';
import { waitFor } from '../helpers/wait-for.js';

const MiB = 1 << 20;

async function keys(client: S3Client, bucket: string, prefix: string): Promise<string[]> {
  const listed = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
  return (listed.Contents ?? []).map((object) => object.Key ?? '');
}

async function openUploads(client: S3Client, bucket: string): Promise<number> {
  return ((await client.send(new ListMultipartUploadsCommand({ Bucket: bucket }))).Uploads ?? []).length;
}

/**
 * Sends all of an upload's body but its last `heldBack` bytes, and keeps the request open:
 * a large firmware part way through, for as long as the test wants (until the server dies).
 */
function holdUpload(url: string, version: string, bytes: Buffer, heldBack: number): void {
  const upload = firmwareUpload({ name: 'crash', version }, bytes);
  const req = http.request(`${url}/firmware`, { method: 'POST', headers: { 'Content-Type': upload.contentType, 'Content-Length': upload.body.length } });
  req.on('error', () => {}); // the server is killed under it
  req.write(upload.body.subarray(0, upload.body.length - heldBack));
}

/** Every content key must hold bytes that hash to its name: nothing unverified is visible. */
async function assertContentVerified(t: ExecutionContext, client: S3Client, bucket: string): Promise<number> {
  const contentKeys = await keys(client, bucket, 'sha256/');
  for (const key of contentKeys) {
    const got = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    const bytes = Buffer.from(await got.Body!.transformToByteArray());
    t.is(sha256(bytes).slice(7), key.slice(7), `${key} holds the bytes its name says`);
  }
  return contentKeys.length;
}

cephTest('crash [s3]: SIGKILL during S3 uploads shows nothing unverified and loses nothing acknowledged; restart and gc leave no temp objects or multipart uploads', async (t) => {
  const rgw = await ceph();
  const bucket = await newBucket(rgw);
  const client = rawClient(rgw);
  t.teardown(() => client.destroy());
  // Grace 0: the restart sweeps every temp entry the killed server left (none can be in flight).
  const env = { ...s3Env(rgw, bucket), S3_TEMP_GRACE_SECONDS: '0' };
  const home = await tempDir(t);
  const server = await spawnServer(t, home, env);

  // Two large uploads held part way: each has sent more than a part (8 MiB), so an S3
  // multipart upload is open for it when the server dies.
  holdUpload(server.url, '2.0.0', firmwareBytes(24 * MiB), 4 * MiB);
  holdUpload(server.url, '2.0.1', firmwareBytes(20 * MiB), 2 * MiB);
  // Acknowledged publishes meanwhile, small and multipart-sized.
  const acknowledged: { version: string; bytes: Buffer }[] = [];
  for (const [index, size] of [100_000, 9 * MiB, 3_000, 12 * MiB].entries()) {
    const bytes = firmwareBytes(size);
    const answer = await request(`${server.url}/firmware`, { method: 'POST', ...bodyOf(`1.0.${index}`, bytes) });
    t.is(answer.status, 201);
    acknowledged.push({ version: `1.0.${index}`, bytes });
  }
  await waitFor(async () => (await openUploads(client, bucket)) >= 2);
  server.child.kill('SIGKILL');
  await server.exited;

  t.true((await openUploads(client, bucket)) >= 2, 'the killed uploads left multipart uploads behind');
  t.is(await assertContentVerified(t, client, bucket), acknowledged.length, 'content keys: the acknowledged publishes, no more');

  const restarted = await spawnServer(t, home, env);
  for (const { version, bytes } of acknowledged) {
    const download = await request(`${restarted.url}/firmware/crash/${version}`);
    t.is(download.status, 200);
    t.true(download.body.equals(bytes), `acknowledged ${version} survives whole`);
  }
  t.is((await request(`${restarted.url}/firmware/crash/2.0.0`)).status, 404, 'the killed upload is not published');
  const gc = await request(`${restarted.url}/gc`, { method: 'POST' });
  t.is(gc.status, 200);
  t.deepEqual(await keys(client, bucket, 'tmp/'), [], 'no temp objects');
  t.is(await openUploads(client, bucket), 0, 'no multipart uploads');
  t.is(await assertContentVerified(t, client, bucket), acknowledged.length);
  const started = restarted.lines.map((line) => JSON.parse(line) as { msg: string; removedTempFiles?: number }).find((line) => line.msg === 'spore-registry listening');
  t.true((started?.removedTempFiles ?? 0) >= 2, 'start-up swept what the kill left');

  // gc and fsck from the command line work on the bucket too (the server stopped: the index is free).
  restarted.child.kill('SIGTERM');
  await restarted.exited;
  const cwd = { cwd: home, env: { ...env, REGISTRY_DB: 'registry.db' } };
  const fsck = await cli(['fsck'], cwd);
  t.is(fsck.code, 0, fsck.stderr);
  t.regex(fsck.stderr, /4 versions, 4 blobs.*no damage/);
  const collected = await cli(['gc', '--grace', '0'], cwd);
  t.is(collected.code, 0, collected.stderr);
  t.regex(collected.stdout, /removed 0 blob/);
});

function bodyOf(version: string, bytes: Buffer) {
  const upload = firmwareUpload({ name: 'crash', version }, bytes);
  return { headers: { 'Content-Type': upload.contentType, 'Content-Length': upload.body.length }, body: upload.body };
}
