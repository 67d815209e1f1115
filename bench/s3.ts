import { execFile, spawnSync } from 'node:child_process';
import fs from 'node:fs/promises';
import http from 'node:http';
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
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
/**
 * Rounds of the 16 MiB GETs: at 4 connections a round of 2 seconds counts some 80 GETs, and a
 * GET cut by the round's end is a few per cent of that; the ratio to radosgw moved by ±0.05
 * between runs of the same build (0.65×–0.76×, the relay 0.72×–0.74×).
 */
const LARGE_GET_SECONDS = 6;

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
  /** Requests per second over a round of `seconds` (BENCH_SECONDS unless given). */
  rate(url: string, connections: number, headers?: Record<string, string>, seconds?: number): Promise<number>;
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
 * same load generator (the object made public-read, so no signing is measured), with the
 * registry as configured by default (BLOB_CACHE_BYTES 64 MiB), without its cache, and a bare
 * Node relay (relay.ts: what passing bytes through any Node process costs here); and the
 * registry's peak RSS under 64 concurrent 64 MiB downloads and a 600 MiB upload. Servers are
 * measured in alternation, ROUNDS times, keeping each one's median.
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
  const servers: Server[] = [];
  const start = async (name: string, script: string, args: string[], extra: Record<string, string> = {}) => {
    const server = await startNodeServer(new URL(script, import.meta.url), args, {
      PORT: '0',
      HOST: '127.0.0.1',
      REGISTRY_DB: path.join(home, `${name}.db`),
      BLOB_STORE: 's3',
      S3_BUCKET: BUCKET,
      S3_ENDPOINT: endpoint,
      S3_FORCE_PATH_STYLE: 'true',
      AWS_ACCESS_KEY_ID: credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      ...extra,
    }, path.join(home, `${name}.log`));
    servers.push(server);
    return server;
  };
  const rows: BenchRow[] = [];
  try {
    await client.send(new CreateBucketCommand({ Bucket: BUCKET }));
    const registry = await start('s3-registry', '../bin/spore-registry.js', ['serve']);

    // Memory first, as in run.ts: the peak then shows what 64 downloads cost on top of rest.
    await tools.publishFile(registry.url, await tools.randomFile(files, 's3-64.bin', 64 * MiB), '12.0.0');
    registry.resetPeak();
    const atRest = registry.peakRssMiB();
    const downloadSeconds = await tools.timed(() => downloadAll(`${registry.url}/firmware/bench/12.0.0`, 64));
    rows.push({ measure: 'S3: registry peak RSS, MiB, 64 concurrent GETs of 64 MiB', registry: tools.fmt(registry.peakRssMiB()), note: `${tools.fmt(atRest)} MiB at rest before; ${tools.fmt((64 * 64) / downloadSeconds)} MiB/s served` });

    const sixteen = await tools.randomFile(files, 's3-16.bin', 16 * MiB);
    await tools.publishFile(registry.url, sixteen, '10.0.16');
    const hex = JSON.parse(await (await fetch(`${registry.url}/firmware?name=bench&version=10.0.16`)).text())[0].sha256.slice(7) as string;
    await client.send(new PutObjectAclCommand({ Bucket: BUCKET, Key: `sha256/${hex}`, ACL: 'public-read' }));
    const theirs = `${endpoint}/${BUCKET}/sha256/${hex}`;
    // The same registry without its cache (its own index, the same bucket: the publish dedupes).
    const uncached = await start('s3-uncached', '../bin/spore-registry.js', ['serve'], { BLOB_CACHE_BYTES: '0' });
    await tools.publishFile(uncached.url, sixteen, '10.0.16');
    const relay = await start('s3-relay', './relay.js', [theirs]);
    const ours = `${registry.url}/firmware/bench/10.0.16`;
    const oursUncached = `${uncached.url}/firmware/bench/10.0.16`;

    const [a = NaN, b = NaN, c = NaN] = await alternate(tools, [
      () => tools.rate(ours, 4, {}, LARGE_GET_SECONDS),
      () => tools.rate(theirs, 4, {}, LARGE_GET_SECONDS),
      () => tools.rate(relay.url, 4, {}, LARGE_GET_SECONDS),
    ]);
    rows.push(tools.compare('S3: GET 16 MiB, MiB/s (4 connections)', a * 16, b * 16, 'reference: radosgw serving the object'));
    rows.push(tools.compare('S3: GET 16 MiB through a bare Node relay, MiB/s', c * 16, b * 16, 'reference: radosgw; what relaying through Node costs here'));
    const tail = { Range: `bytes=${16 * MiB - 4096}-${16 * MiB - 1}` };
    const [aRange = NaN, bRange = NaN, cRange = NaN, dRange = NaN] = await alternate(tools, [
      () => tools.rate(ours, 16, tail),
      () => tools.rate(theirs, 16, tail),
      () => tools.rate(oursUncached, 16, tail),
      () => tools.rate(relay.url, 16, tail),
    ]);
    rows.push(tools.compare('S3: 4 KiB range at the end of 16 MiB, req/s', aRange, bRange, 'reference: radosgw; BLOB_CACHE_BYTES=64M (the default)'));
    rows.push(tools.compare('S3: the same 4 KiB range without the cache, req/s', cRange, bRange, 'reference: radosgw; BLOB_CACHE_BYTES=0: a GET per request'));
    rows.push(tools.compare('S3: the same 4 KiB range through a bare Node relay, req/s', dRange, bRange, 'reference: radosgw'));
    // Stopped once only: a second stop of a server that died of its signal would wait forever.
    for (const done of [uncached, relay]) {
      servers.splice(servers.indexOf(done), 1);
      await done.stop();
    }

    const uploadSeconds: number[] = [];
    const sdkSeconds: number[] = [];
    for (let run = 0; run < 3; run++) {
      const file = await tools.randomFile(files, `s3-upload-${run}.bin`, uploadMiB * MiB);
      // Alternating which goes first: neither always meets a store still busy with the other's bytes.
      const sdk = () => tools.timed(() => sdkMultipart(client, file, `reference/${run}`));
      const publish = () => tools.timed(() => tools.publishFile(registry.url, file, `11.0.${run}`));
      if (run % 2 === 0) {
        sdkSeconds.push(await sdk());
        uploadSeconds.push(await publish());
      } else {
        uploadSeconds.push(await publish());
        sdkSeconds.push(await sdk());
      }
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
    for (const server of servers) await server.stop();
    client.destroy();
    await promisify(execFile)(SCRIPT, ['stop', cephDir]);
  }
  return rows;
}

/** Each measure ROUNDS times, in turn, and each one's median: a burst of other work spoils a round, not a ratio. */
async function alternate(tools: BenchTools, measures: (() => Promise<number>)[]): Promise<number[]> {
  const results: number[][] = measures.map(() => []);
  for (let round = 0; round < ROUNDS; round++) {
    for (const [index, measure] of measures.entries()) results[index]!.push(await measure());
  }
  return results.map((values) => tools.median(values));
}

/**
 * `count` whole downloads at once, each read to its end: every byte goes through, whichever
 * load generator is installed (wrk's fixed duration ends mid-body at this size).
 */
async function downloadAll(url: string, count: number): Promise<void> {
  const agent = new http.Agent({ keepAlive: false, maxSockets: count });
  try {
    await Promise.all(
      Array.from({ length: count }, () =>
        new Promise<void>((resolve, reject) => {
          http.get(url, { agent }, (res) => {
            if (res.statusCode !== 200) reject(new Error(`GET ${url}: ${res.statusCode}`));
            res.on('data', () => {});
            res.on('end', resolve);
            res.on('error', reject);
          }).on('error', reject);
        }),
      ),
    );
  } finally {
    agent.destroy();
  }
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
