import { execFile, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import test, { type ExecutionContext } from 'ava';
import { S3BlobStore } from '../../src/cas/s3-blob-store.js';
import type { S3StoreConfig, S3Tuning } from '../../src/cas/s3-config.js';

const SCRIPT = fileURLToPath(new URL('../../../scripts/ceph-rgw.sh', import.meta.url));
const BUCKET = 'spore-test';

// The SDK warns, once per process, that its releases from 2027 on need Node 22: true, and
// nothing a test can act on. The registry itself keeps the warning.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

export interface Ceph {
  endpoint: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  /** A bucket made for this test file. */
  bucket: string;
  /** The cluster's configuration file, for Ceph's own tools (`-c`, or CEPH_CONF). */
  conf: string;
}

/** Why a Ceph RGW cannot be started here, if it cannot. */
function whyNoCeph(): string | undefined {
  if (process.getuid?.() !== 0) return 'they start Ceph daemons, which needs root';
  const tools = ['ceph-mon', 'ceph-osd', 'radosgw', 'radosgw-admin', 'monmaptool'];
  const found = spawnSync('sh', ['-c', tools.map((tool) => `command -v ${tool}`).join(' && ')]);
  if (found.status !== 0) return 'the Ceph packages are not installed (run scripts/install-test-deps.sh as root)';
  return undefined;
}

const missing = whyNoCeph();
if (missing) console.warn(`S3 tests are skipped: ${missing}`);

/** `test` where a Ceph RGW can run, `test.skip` (reported as skipped) elsewhere. */
export const cephTest = missing ? test.skip : test;
/** `test.serial` where a Ceph RGW can run: for a test that must run alone (one that measures memory). */
export const cephSerialTest = missing ? test.serial.skip : test.serial;

let started: Promise<{ dir: string; ceph: Ceph }> | undefined;

/**
 * The Ceph RGW of this test file (ava runs each file in its own process), started by
 * scripts/ceph-rgw.sh on first use, with one bucket, and stopped after the file's last test.
 * Should the worker die first (ava's timeout, a crash), the script's watchdog stops it: the
 * worker is the script's parent, the cluster's owner.
 */
export async function ceph(): Promise<Ceph> {
  started ??= start();
  return (await started).ceph;
}

if (!missing) {
  test.after.always('stop Ceph', async () => {
    if (!started) return;
    const { dir } = await started;
    await promisify(execFile)(SCRIPT, ['stop', dir]);
  });
}

async function start(): Promise<{ dir: string; ceph: Ceph }> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'spore-ceph-'));
  const { stdout } = await promisify(execFile)(SCRIPT, ['start', dir]);
  const env = Object.fromEntries(stdout.split('\n').filter((line) => line.includes('=')).map((line) => line.split(/=(.*)/s).slice(0, 2)));
  const ceph: Ceph = {
    endpoint: env.S3_ENDPOINT!,
    credentials: { accessKeyId: env.AWS_ACCESS_KEY_ID!, secretAccessKey: env.AWS_SECRET_ACCESS_KEY! },
    bucket: BUCKET,
    conf: path.join(dir, 'ceph.conf'),
  };
  const client = rawClient(ceph);
  try {
    await client.send(new CreateBucketCommand({ Bucket: BUCKET }));
  } finally {
    client.destroy();
  }
  return { dir, ceph };
}

/** The configuration of a store on this file's bucket, as a deployment on Ceph RGW has it. */
export function cephConfig(ceph: Ceph, overrides: Partial<S3StoreConfig> = {}): S3StoreConfig {
  return { bucket: ceph.bucket, endpoint: ceph.endpoint, forcePathStyle: true, credentials: ceph.credentials, ...overrides };
}

/** A store of its own for one test (its own prefix in the bucket), closed when the test ends. */
export async function s3Store(t: ExecutionContext, tuning: Partial<S3Tuning> = {}): Promise<S3BlobStore> {
  const store = await S3BlobStore.open(cephConfig(await ceph(), { prefix: `${randomUUID()}/`, tuning }));
  t.teardown(() => store.close());
  return store;
}

/** The SDK on its own, for what a test does behind the store's back. */
export function rawClient(ceph: Ceph): S3Client {
  return new S3Client({
    endpoint: ceph.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: ceph.credentials,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}
