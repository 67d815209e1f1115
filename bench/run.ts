import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { measureIndex } from './index-queries.js';
import { measureScale, printScale, type ScaleRow } from './index-scale.js';
import { findNginx, startNginx } from './nginx.js';
import { benchIndexEngines } from './index-engines.js';
import { benchPolling, type PollingRow, type PollingTools } from './polling.js';
import { startNodeServer, type Server } from './processes.js';
import { benchS3 } from './s3.js';
import { loadGenerator, type LoadGenerator } from './wrk.js';

/**
 * `npm run bench`: the registry beside a reference, in one run, on this machine. Absolute
 * numbers on a shared 2-core machine mean little; the ratios are the result.
 *
 *   downloads  the registry and nginx serving the same published files, measured with the
 *              same load generator: whole GETs
 *   polling    what devices send most, against nginx serving the same bytes: update checks
 *              (200, 304, 204), /health, a version URL's 304 and a 4 KiB range, with the p99
 *              latency at 64 connections (see polling.ts); `npm run bench -- --only polling`
 *              runs these rows alone (`--only downloads,polling` with the whole GETs)
 *   memory     the registry's peak RSS with 64 concurrent downloads of a 64 MiB firmware
 *   index      queries over 100k versions, the label query against reading every row's labels
 *   upload     a 256 MiB multipart publish against read + SHA-256 + write + fsync in one
 *              pipeline; the peak RSS while 600 MiB are uploaded; 200 concurrent publishes of
 *              small identical firmware under different versions (the CI pattern)
 *   s3         the same on a real Ceph RGW (BLOB_STORE=s3), beside radosgw itself, a bare Node
 *              relay and the SDK's own multipart upload (see s3.ts); skipped where Ceph cannot
 *              run; `npm run bench -- --only s3` runs these rows alone
 *   scale      the index at 1k and 100k versions (and 1M with `npm run bench -- --million`):
 *              start-up, RSS, publish-by-digest latency, the longest wait of a polling device
 *              while publishes and snapshots run, a label query and an update check
 */
const MiB = 1024 * 1024;
const SECONDS = Number(process.env.BENCH_SECONDS ?? 2);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const UPLOAD_MIB = Number(process.env.BENCH_UPLOAD_MIB ?? 256);
const LARGE_UPLOAD_MIB = 600;

/** One printed line of the bench: every part of it shares polling.ts's row. */
type Row = PollingRow;

const home = await fs.mkdtemp(path.join(os.tmpdir(), 'spore-bench-'));
const rows: Row[] = [];
const generator = loadGenerator();
/** `--only polling` or `--only downloads,polling`: those rows alone, to iterate on them. */
const only = process.argv.includes('--only') ? new Set(process.argv[process.argv.indexOf('--only') + 1]?.split(',')) : undefined;
let registry: Server | undefined;

try {
  registry = await startNodeServer(new URL('../bin/spore-registry.js', import.meta.url), ['serve'], {
    PORT: '0',
    HOST: '127.0.0.1',
    REGISTRY_DIR: path.join(home, 'registry'),
    REGISTRY_DB: path.join(home, 'registry.db'),
  }, path.join(home, 'registry.log'));
  const files = path.join(home, 'files');
  await fs.mkdir(files);
  const pollingTools: PollingTools = { generator, seconds: SECONDS, rounds: ROUNDS, median, fmt, randomFile, publish: (base: string, file: string, name: string, version: string, labels?: Record<string, string>) => publishFile(base, file, version, name, labels) };
  if (only) {
    if (only.has('downloads')) await downloads(registry, files);
    if (only.has('polling')) rows.push(...(await benchPolling(pollingTools, registry, home)));
    if (only.has('engines')) rows.push(...(await benchIndexEngines(pollingTools, registry, home)));
    if (only.has('s3')) rows.push(...(await benchS3({ randomFile, publishFile, rate, sideBySide, timed, median, compare, fmt }, home, files, UPLOAD_MIB)));
    print();
  } else {
    await everything(registry, files, pollingTools);
  }
} finally {
  await registry?.stop();
  await fs.rm(home, { recursive: true, force: true });
}

/** The whole bench: every row above, then the index at scale. */
async function everything(server: Server, files: string, pollingTools: PollingTools): Promise<void> {
  // Memory first: the peak then shows what 64 downloads cost on top of a server at rest.
  await memory(server, files);
  await downloads(server, files);
  rows.push(...(await benchPolling(pollingTools, server, home)));
  rows.push(...(await benchIndexEngines(pollingTools, server, home)));
  await upload(server, files);
  await server.stop();
  rows.push(...(await benchS3({ randomFile, publishFile, rate, sideBySide, timed, median, compare, fmt }, home, files, UPLOAD_MIB)));
  // Last, in this process: the servers are done and the CPU is free.
  for (const timing of await measureIndex()) {
    rows.push({
      measure: `${timing.measure}, ms (${timing.rows} rows)`,
      registry: timing.indexedMs.toFixed(2),
      ...(timing.scanMs === undefined ? {} : { reference: timing.scanMs.toFixed(2), ratio: `${(timing.scanMs / timing.indexedMs).toFixed(1)}×`, note: 'reference: scanning JSON labels' }),
    });
  }
  print();
  const scale: ScaleRow[] = [];
  for (const versions of [1_000, 100_000, ...(process.argv.includes('--million') ? [1_000_000] : [])]) {
    const scaleHome = await fs.mkdtemp(path.join(os.tmpdir(), 'spore-scale-'));
    try {
      scale.push(await measureScale(scaleHome, versions));
    } finally {
      await fs.rm(scaleHome, { recursive: true, force: true, maxRetries: 5 });
    }
  }
  printScale(scale);
}

async function downloads(server: Server, files: string): Promise<void> {
  for (const mib of [1, 16]) await publishFile(server.url, await randomFile(files, `firmware-${mib}.bin`, mib * MiB), `1.0.${mib}`);
  const nginxBinary = findNginx();
  if (!nginxBinary) {
    console.log('nginx is not installed (apt-get install nginx): download ratios are skipped.');
    return;
  }
  // nginx serves the registry's own view: registry/bench/<version>/firmware.bin, hard links to the blobs.
  const nginx = await startNginx(nginxBinary, path.join(home, 'registry'), home);
  try {
    const ours = (version: string) => `${server.url}/firmware/bench/${version}`;
    const theirs = (version: string) => `${nginx.url}/bench/${version}/firmware.bin`;
    for (const mib of [1, 16]) {
      const [a, b] = await sideBySide(() => rate(ours(`1.0.${mib}`), 4), () => rate(theirs(`1.0.${mib}`), 4));
      rows.push(compare(`GET ${mib} MiB, MiB/s (4 connections)`, a * mib, b * mib));
    }
  } finally {
    await nginx.stop();
  }
}

async function memory(server: Server, files: string): Promise<void> {
  await publishFile(server.url, await randomFile(files, 'firmware-64.bin', 64 * MiB), '2.0.0');
  server.resetPeak();
  const atRest = server.peakRssMiB();
  const perSecond = await generator.run(`${server.url}/firmware/bench/2.0.0`, { connections: 64, seconds: 5 }).then((result) => {
    if (result.errors > 0) throw new Error(`${result.errors} failed downloads`);
    return result.requestsPerSecond;
  });
  rows.push({
    measure: 'registry peak RSS, MiB, 64 concurrent GETs of 64 MiB',
    registry: fmt(server.peakRssMiB()),
    note: `${fmt(atRest)} MiB at rest before; ${fmt(perSecond * 64)} MiB/s served`,
  });
}

async function upload(server: Server, files: string): Promise<void> {
  const uploadSeconds: number[] = [];
  const ceilingSeconds: number[] = [];
  for (let run = 0; run < 3; run++) {
    // Distinct bytes per run, so every run hashes, writes and stores for real.
    const file = await randomFile(files, `upload-${run}.bin`, UPLOAD_MIB * MiB);
    ceilingSeconds.push(await timed(() => hashWriteFsync(file, path.join(home, `ceiling-${run}.bin`))));
    uploadSeconds.push(await timed(() => publishFile(server.url, file, `3.0.${run}`)));
    await fs.rm(path.join(home, `ceiling-${run}.bin`));
    await fs.rm(file);
  }
  rows.push(compare(`upload ${UPLOAD_MIB} MiB, MiB/s (median of 3)`, UPLOAD_MIB / median(uploadSeconds), UPLOAD_MIB / median(ceilingSeconds), 'ceiling: read+sha256+write+fsync'));

  const large = await randomFile(files, 'large.bin', LARGE_UPLOAD_MIB * MiB);
  server.resetPeak();
  const atRest = server.peakRssMiB();
  const seconds = await timed(() => publishFile(server.url, large, '4.0.0'));
  rows.push({
    measure: `registry peak RSS, MiB, uploading ${LARGE_UPLOAD_MIB} MiB`,
    registry: fmt(server.peakRssMiB()),
    note: `${fmt(atRest)} MiB at rest before; ${fmt(LARGE_UPLOAD_MIB / seconds)} MiB/s`,
  });
  await fs.rm(large);

  // The CI pattern: the same small build published under version after version, concurrently.
  const small = await randomFile(files, 'small.bin', 256 * 1024);
  const publishes = 200;
  let next = 0;
  const ciSeconds = await timed(async () => {
    const worker = async () => {
      while (next < publishes) await publishFile(server.url, small, `5.0.${next++}`);
    };
    await Promise.all(Array.from({ length: 16 }, worker));
  });
  rows.push({
    measure: `${publishes} publishes of one 256 KiB build, publishes/s`,
    registry: fmt(publishes / ciSeconds),
    note: `${ciSeconds.toFixed(2)} s in all, 16 at a time`,
  });
}

/**
 * Measures two servers in alternation, ROUNDS times each, and keeps each one's median: on a
 * shared machine a burst of someone else's work then spoils one round, not the ratio.
 */
async function sideBySide(ours: () => Promise<number>, theirs: () => Promise<number>): Promise<[number, number]> {
  const a: number[] = [];
  const b: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    a.push(await ours());
    b.push(await theirs());
  }
  return [median(a), median(b)];
}

async function rate(url: string, connections: number, headers: Record<string, string> = {}, seconds = SECONDS): Promise<number> {
  const result = await generator.run(url, { connections, seconds, headers });
  if (result.errors > 0) throw new Error(`${result.errors} failed requests to ${url}`);
  return result.requestsPerSecond;
}

async function randomFile(dir: string, name: string, size: number): Promise<string> {
  const file = path.join(dir, name);
  const handle = await fs.open(file, 'w');
  for (let written = 0; written < size; written += 4 * MiB) await handle.write(randomBytes(Math.min(4 * MiB, size - written)));
  await handle.close();
  return file;
}

/** The ceiling for uploads: what this machine can do to receive bytes durably, with nothing else. */
async function hashWriteFsync(source: string, target: string): Promise<void> {
  const hash = createHash('sha256');
  await pipeline(
    createReadStream(source, { highWaterMark: MiB }),
    new Transform({
      transform(chunk: Buffer, _encoding, done) {
        hash.update(chunk);
        done(null, chunk);
      },
    }),
    createWriteStream(target, { flush: true }),
  );
  hash.digest('hex');
}

/** A real multipart publish, streamed from the file, with an exact Content-Length. */
async function publishFile(base: string, file: string, version: string, name = 'bench', labels: Record<string, string> = {}): Promise<void> {
  const boundary = `bench${randomBytes(8).toString('hex')}`;
  const head = Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="metadata"\r\n\r\n${JSON.stringify({ name, version, labels })}\r\n` +
      `--${boundary}\r\nContent-Disposition: form-data; name="firmware"; filename="fw.bin"\r\nContent-Type: application/octet-stream\r\n\r\n`,
  );
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  const { size } = await fs.stat(file);
  await new Promise<void>((resolve, reject) => {
    const req = http.request(`${base}/firmware`, {
      method: 'POST',
      headers: { 'Content-Type': `multipart/form-data; boundary=${boundary}`, 'Content-Length': head.length + size + tail.length },
    });
    req.on('response', (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 201 ? resolve() : reject(new Error(`publish answered ${res.statusCode}`))));
    });
    req.on('error', reject);
    req.write(head);
    const body = createReadStream(file, { highWaterMark: MiB });
    body.on('end', () => req.end(tail));
    body.pipe(req, { end: false });
  });
}

async function timed(task: () => Promise<void>): Promise<number> {
  const started = performance.now();
  await task();
  return (performance.now() - started) / 1000;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? NaN;
}

function compare(measure: string, ours: number, theirs: number, note = 'reference: nginx'): Row {
  return { measure, registry: fmt(ours), reference: fmt(theirs), ratio: `${(ours / theirs).toFixed(2)}×`, note };
}

function fmt(value: number): string {
  return value >= 100 ? value.toFixed(0) : value.toFixed(1);
}

function print(): void {
  const header: Row = { measure: 'measure', registry: 'registry', reference: 'reference', ratio: 'ratio', perCpu: 'per CPU second', p99: 'p99 at 64 conn.', note: '' };
  const columns = ['measure', 'registry', 'reference', 'ratio', 'perCpu', 'p99', 'note'] as const;
  const all = [header, ...rows];
  const widths = columns.map((column) => Math.max(...all.map((row) => (row[column] ?? '').length)));
  console.log(`\nSPORE Registry bench — node ${process.version}, ${os.cpus().length} cores, load generator: ${generator.name}\n`);
  for (const row of all) console.log(columns.map((column, i) => (row[column] ?? '').padEnd(widths[i] ?? 0)).join('  ').trimEnd());
}

export type { LoadGenerator };
