import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { load } from './load.js';
import { startNodeServer } from './processes.js';

/**
 * `npm run bench`: the registry beside a reference, in one run, on this machine. Absolute
 * numbers on a shared 2-core machine mean little; the ratios are the result.
 *
 *   upload    HTTP multipart publish of a large firmware  vs  read + SHA-256 + write + fsync in one pipeline
 *   download  GET of a published firmware                  vs  a plain Node server piping fs.createReadStream
 */
const MiB = 1024 * 1024;
const UPLOAD_MIB = Number(process.env.BENCH_UPLOAD_MIB ?? 64);
const RUNS = 3;

const home = await fs.mkdtemp(path.join(os.tmpdir(), 'spore-bench-'));
const registryBin = new URL('../bin/spore-registry.js', import.meta.url);
const rows: string[][] = [];

try {
  const registry = await startNodeServer(registryBin, ['serve'], {
    PORT: '0',
    HOST: '127.0.0.1',
    REGISTRY_DIR: path.join(home, 'registry'),
    REGISTRY_DB: path.join(home, 'registry.db'),
  });
  const files = path.join(home, 'files');
  await fs.mkdir(files);

  // Upload: distinct bytes per run, so every run hashes, writes and stores for real.
  const uploadSeconds: number[] = [];
  const ceilingSeconds: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    const file = path.join(files, `upload-${run}.bin`);
    await writeRandomFile(file, UPLOAD_MIB * MiB);
    ceilingSeconds.push(await timed(() => hashWriteFsync(file, path.join(home, `ceiling-${run}.bin`))));
    uploadSeconds.push(await timed(() => publishFile(registry.url, file, `1.0.${run}`)));
    await fs.rm(path.join(home, `ceiling-${run}.bin`));
  }
  const uploadRate = UPLOAD_MIB / median(uploadSeconds);
  const ceilingRate = UPLOAD_MIB / median(ceilingSeconds);
  rows.push([`upload ${UPLOAD_MIB} MiB, MiB/s (median of ${RUNS})`, fmt(uploadRate), fmt(ceilingRate), ratio(uploadRate, ceilingRate), 'read+sha256+write+fsync']);

  // Download: the same files through the registry and through the plain server.
  const plain = await startNodeServer(new URL('./plain-file-server.js', import.meta.url), [files], {});
  for (const mib of [1, 16]) {
    const file = path.join(files, `download-${mib}.bin`);
    await writeRandomFile(file, mib * MiB);
    await publishFile(registry.url, file, `2.0.${mib}`);
    const ours = await load(`${registry.url}/firmware/bench/2.0.${mib}`);
    const theirs = await load(`${plain.url}/download-${mib}.bin`);
    if (ours.errors + theirs.errors > 0) throw new Error(`download errors: registry ${ours.errors}, plain ${theirs.errors}`);
    const oursRate = ours.bytes / MiB / ours.seconds;
    const theirsRate = theirs.bytes / MiB / theirs.seconds;
    rows.push([`GET ${mib} MiB, MiB/s (4 connections)`, fmt(oursRate), fmt(theirsRate), ratio(oursRate, theirsRate), 'plain node createReadStream']);
  }
  await plain.stop();
  rows.push(['registry peak RSS, MiB', fmt(registry.peakRssMiB()), '', '', '']);
  await registry.stop();
  print(rows);
} finally {
  await fs.rm(home, { recursive: true, force: true });
}

async function writeRandomFile(file: string, size: number): Promise<void> {
  const handle = await fs.open(file, 'w');
  for (let written = 0; written < size; written += 4 * MiB) await handle.write(randomBytes(Math.min(4 * MiB, size - written)));
  await handle.close();
}

/** The ceiling: what this machine can do to receive bytes durably, with nothing else. */
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
async function publishFile(base: string, file: string, version: string): Promise<void> {
  const boundary = `bench${randomBytes(8).toString('hex')}`;
  const head = Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="metadata"\r\n\r\n${JSON.stringify({ name: 'bench', version })}\r\n` +
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

function fmt(value: number): string {
  return value >= 100 ? value.toFixed(0) : value.toFixed(1);
}

function ratio(ours: number, theirs: number): string {
  return `${(ours / theirs).toFixed(2)}×`;
}

function print(table: string[][]): void {
  const header = ['measure', 'registry', 'reference', 'ratio', 'reference is'];
  const all = [header, ...table];
  const widths = header.map((_, column) => Math.max(...all.map((row) => (row[column] ?? '').length)));
  console.log(`\nSPORE Registry bench — node ${process.version}, ${os.cpus().length} cores\n`);
  for (const row of all) console.log(row.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join('  '));
}
