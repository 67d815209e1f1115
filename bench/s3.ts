import { execFile, spawnSync } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import {
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  PutObjectAclCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { startNodeServer, type Server } from './processes.js';

// The SDK warns once that its 2027 releases need Node 22: nothing a bench run can act on.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const MiB = 1024 * 1024;
const SCRIPT = fileURLToPath(new URL('../../scripts/ceph-rgw.sh', import.meta.url));
const BUCKET = 'bench';
const PART = 8 * MiB;
const PARTS_IN_FLIGHT = 4;

export interface BenchRow {
  measure: string;
  registry: string;
  reference?: string;
  ratio?: string;
  note?: string;
}

/** What run.ts measures with; the S3 rows use the same, so their ratios mean the same. */
export interface BenchTools {
  randomFile(dir: string, name: string, size: number): Promise<string>;
  publishFile(base: string, file: string, version: string): Promise<void>;
  rate(url: string, connections: number, headers?: Record<string, string>): Promise<number>;
  sideBySide(ours: () => Promise<number>, theirs: () => Promise<number>): Promise<[number, number]>;
  timed(task: () => Promise<void>): Promise<number>;
  median(values: number[]): number;
  compare(measure: string, ours: number, theirs: number, note?: string): BenchRow;
  fmt(value: number): string;
}

/**
 * The registry on a real Ceph RGW (scripts/ceph-rgw.sh), beside the object store itself in the
 * same run: an upload against the SDK's own multipart upload of the same bytes (8 MiB parts,
 * 4 in flight, as the store sends them); GETs against radosgw serving the same object to the
 * same load generator (the object made public-read, so no signing is measured); and the
 * registry's peak RSS under a 600 MiB upload and 64 concurrent 64 MiB downloads.
 */
export async function benchS3(tools: BenchTools, home: string, files: string, uploadMiB: number): Promise<BenchRow[]> {
  const missing = process.getuid?.() !== 0 ? 'not root' : spawnSync('sh', ['-c', 'command -v radosgw']).status !== 0 ? 'Ceph is not installed' : undefined;
  if (missing) {
    console.log(`S3 rows are skipped: ${missing} (scripts/install-test-deps.sh installs Ceph).`);
    return [];
  }
  const cephDir = await fs.mkdtemp(path.join(os.tmpdir(), 'spore-bench-ceph-'));
  // memstore keeps everything in RAM, and deleted objects until RGW's gc runs: room for the 600 MiB.
  const { stdout } = await promisify(execFile)(SCRIPT, ['start', cephDir], { env: { ...process.env, CEPH_RGW_MEMSTORE_BYTES: String(6 * 1024 * MiB) } });
  const env = Object.fromEntries(stdout.split('\n').filter((line) => line.includes('=')).map((line) => line.split(/=(.*)/s).slice(0, 2))) as Record<string, string>;
  const endpoint = env.S3_ENDPOINT ?? '';
  const credentials = { accessKeyId: env.AWS_ACCESS_KEY_ID ?? '', secretAccessKey: env.AWS_SECRET_ACCESS_KEY ?? '' };
  const client = new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials, requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' });
  let server: Server | undefined;
  const rows: BenchRow[] = [];
  try {
    await client.send(new CreateBucketCommand({ Bucket: BUCKET }));
    server = await startNodeServer(new URL('../bin/spore-registry.js', import.meta.url), ['serve'], {
      PORT: '0',
      HOST: '127.0.0.1',
      REGISTRY_DB: path.join(home, 's3-registry.db'),
      BLOB_STORE: 's3',
      S3_BUCKET: BUCKET,
      S3_ENDPOINT: endpoint,
      S3_FORCE_PATH_STYLE: 'true',
      AWS_ACCESS_KEY_ID: credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    }, path.join(home, 's3-registry.log'));
    const registry = server;

    // Memory first, as in run.ts: the peak then shows what 64 downloads cost on top of rest.
    await tools.publishFile(registry.url, await tools.randomFile(files, 's3-64.bin', 64 * MiB), '12.0.0');
    registry.resetPeak();
    const atRest = registry.peakRssMiB();
    const served = await tools.rate(`${registry.url}/firmware/bench/12.0.0`, 64);
    rows.push({ measure: 'S3: registry peak RSS, MiB, 64 concurrent GETs of 64 MiB', registry: tools.fmt(registry.peakRssMiB()), note: `${tools.fmt(atRest)} MiB at rest before; ${tools.fmt(served * 64)} MiB/s served` });

    const sixteen = await tools.randomFile(files, 's3-16.bin', 16 * MiB);
    await tools.publishFile(registry.url, sixteen, '10.0.16');
    const hex = JSON.parse(await (await fetch(`${registry.url}/firmware?name=bench&version=10.0.16`)).text())[0].sha256.slice(7) as string;
    await client.send(new PutObjectAclCommand({ Bucket: BUCKET, Key: `sha256/${hex}`, ACL: 'public-read' }));
    const ours = `${registry.url}/firmware/bench/10.0.16`;
    const theirs = `${endpoint}/${BUCKET}/sha256/${hex}`;
    const [a, b] = await tools.sideBySide(() => tools.rate(ours, 4), () => tools.rate(theirs, 4));
    rows.push(tools.compare('S3: GET 16 MiB, MiB/s (4 connections)', a * 16, b * 16, 'reference: radosgw serving the object'));
    const tail = { Range: `bytes=${16 * MiB - 4096}-${16 * MiB - 1}` };
    const [aRange, bRange] = await tools.sideBySide(() => tools.rate(ours, 16, tail), () => tools.rate(theirs, 16, tail));
    rows.push(tools.compare('S3: 4 KiB range at the end of 16 MiB, req/s', aRange, bRange, 'reference: radosgw serving the object'));

    const uploadSeconds: number[] = [];
    const sdkSeconds: number[] = [];
    for (let run = 0; run < 3; run++) {
      const file = await tools.randomFile(files, `s3-upload-${run}.bin`, uploadMiB * MiB);
      sdkSeconds.push(await tools.timed(() => sdkMultipart(client, file, `reference/${run}`)));
      uploadSeconds.push(await tools.timed(() => tools.publishFile(registry.url, file, `11.0.${run}`)));
      await fs.rm(file);
    }
    rows.push(tools.compare(`S3: upload ${uploadMiB} MiB, MiB/s (median of 3)`, uploadMiB / tools.median(uploadSeconds), uploadMiB / tools.median(sdkSeconds), 'reference: SDK multipart upload, 8 MiB × 4'));

    const large = await tools.randomFile(files, 's3-large.bin', 600 * MiB);
    registry.resetPeak();
    const before = registry.peakRssMiB();
    const seconds = await tools.timed(() => tools.publishFile(registry.url, large, '13.0.0'));
    rows.push({ measure: 'S3: registry peak RSS, MiB, uploading 600 MiB', registry: tools.fmt(registry.peakRssMiB()), note: `${tools.fmt(before)} MiB at rest before; ${tools.fmt(600 / seconds)} MiB/s` });
    await fs.rm(large);
  } finally {
    await server?.stop();
    client.destroy();
    await promisify(execFile)(SCRIPT, ['stop', cephDir]);
  }
  return rows;
}

/** The SDK's own multipart upload of a file: 8 MiB parts read in turn, 4 in flight. */
async function sdkMultipart(client: S3Client, file: string, key: string): Promise<void> {
  const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: key }));
  const handle = await fs.open(file);
  const parts: { PartNumber: number; ETag: string }[] = [];
  const inFlight = new Set<Promise<void>>();
  try {
    for (let number = 1; ; number++) {
      const buffer = Buffer.allocUnsafe(PART);
      const { bytesRead } = await handle.read(buffer, 0, PART, (number - 1) * PART);
      if (bytesRead === 0) break;
      const sent = client.send(new UploadPartCommand({ Bucket: BUCKET, Key: key, UploadId, PartNumber: number, Body: buffer.subarray(0, bytesRead) })).then(({ ETag }) => {
        parts.push({ PartNumber: number, ETag: ETag ?? '' });
      });
      const tracked = sent.finally(() => inFlight.delete(tracked));
      inFlight.add(tracked);
      if (inFlight.size >= PARTS_IN_FLIGHT) await Promise.race(inFlight);
    }
    await Promise.all(inFlight);
  } finally {
    await handle.close();
  }
  parts.sort((x, y) => x.PartNumber - y.PartNumber);
  await client.send(new CompleteMultipartUploadCommand({ Bucket: BUCKET, Key: key, UploadId, MultipartUpload: { Parts: parts } }));
}
