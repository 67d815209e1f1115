import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { Readable } from 'node:stream';
import type { Digest } from '../src/digest.js';
import { FsBlobStore } from '../src/cas/fs-blob-store.js';
import type { FirmwareRecord } from '../src/firmware/firmware-record.js';
import { writeIndexImage } from './index-image.js';
import { startNodeServer } from './processes.js';

export interface ScaleRow {
  versions: number;
  startSeconds: number;
  rssMiB: number;
  sequential: { p50: number; p99: number };
  concurrent: { p50: number; p99: number; perSecond: number };
  /** The longest a HEAD poller waited while the publishes (and snapshots) ran, ms. */
  longestHeadMs: number;
  snapshots: number;
  labelQuery: { ms: number; rows: number };
  updateCheckMs: number;
}

const NAMES = 200;
const DIGESTS = 64;
const CHANNELS = ['stable', 'beta', 'nightly'];

/**
 * The index at `versions` versions, as a new user would meet it: an index built fast (one
 * snapshot written directly, not a million HTTP publishes), 200 names and 64 distinct builds
 * in the store; then a real server on it, measured for start-up, memory, publish-by-digest
 * latency (one client, then 16), the longest wait of a device polling with HEAD meanwhile,
 * a label query and an update check. The journal is folded into a snapshot every 64 KiB
 * here (16 MiB by default), so snapshots run during the publishes.
 */
export async function measureScale(home: string, versions: number, publishes = 200): Promise<ScaleRow> {
  const dataDir = path.join(home, 'registry');
  const dbFile = path.join(home, 'registry.db');
  const store = await FsBlobStore.open(dataDir);
  const digests: Digest[] = [];
  for (let i = 0; i < DIGESTS; i++) digests.push((await store.put(Readable.from([randomBytes(4096)]))).digest);
  await writeIndexImage(dbFile, records(versions, digests));

  const log = path.join(home, 'registry.log');
  const started = performance.now();
  const server = await startNodeServer(new URL('../bin/spore-registry.js', import.meta.url), ['serve'], {
    PORT: '0',
    HOST: '127.0.0.1',
    REGISTRY_DIR: dataDir,
    REGISTRY_DB: dbFile,
    JOURNAL_SNAPSHOT_BYTES: '64K',
  }, log, 120);
  const startSeconds = (performance.now() - started) / 1000;
  try {
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const rssMiB = server.peakRssMiB();
    let stop = false;
    let longestHeadMs = 0;
    const poller = (async () => {
      while (!stop) {
        const t0 = performance.now();
        await send(server.url, 'HEAD', '/firmware/device-0/0.0.1');
        longestHeadMs = Math.max(longestHeadMs, performance.now() - t0);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    })();
    let n = 0;
    const publishOne = async () => {
      const version = `9.${Math.floor(n / 1000)}.${n % 1000}`;
      const digest = digests[n++ % DIGESTS]!;
      const t0 = performance.now();
      const status = await publishByDigest(server.url, { name: `device-${n % NAMES}`, version, sha256: digest, labels: { channel: 'beta' } });
      if (status !== 201) throw new Error(`publish by digest answered ${status}`);
      return performance.now() - t0;
    };
    const sequentialMs: number[] = [];
    for (let i = 0; i < publishes; i++) sequentialMs.push(await publishOne());
    const concurrentMs: number[] = [];
    const t0 = performance.now();
    let left = publishes * 2;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (left-- > 0) concurrentMs.push(await publishOne());
      }),
    );
    const perSecond = (publishes * 2) / ((performance.now() - t0) / 1000);
    // Keep polling a while: a snapshot started by the last publishes is still running.
    await new Promise((resolve) => setTimeout(resolve, 2000));
    stop = true;
    await poller;

    const query = '/firmware?name=device-7&label=channel=stable';
    const labelMs = await medianOf(5, () => send(server.url, 'GET', query));
    const rows = JSON.parse((await send(server.url, 'GET', query)).body).length as number;
    const updateCheckMs = await medianOf(5, () => send(server.url, 'GET', '/updates/device-7?current=0.0.1&label=channel=stable'));
    const snapshots = (await fs.readFile(log, 'utf8')).split('\n').filter((line) => line.includes('index snapshot written')).length;
    return {
      versions,
      startSeconds,
      rssMiB,
      sequential: percentiles(sequentialMs),
      concurrent: { ...percentiles(concurrentMs), perSecond },
      longestHeadMs,
      snapshots,
      labelQuery: { ms: labelMs, rows },
      updateCheckMs,
    };
  } finally {
    await server.stop();
  }
}

function* records(versions: number, digests: Digest[]): Generator<FirmwareRecord> {
  for (let i = 0; i < versions; i++) {
    const name = i % NAMES;
    const k = Math.floor(i / NAMES);
    yield {
      name: `device-${name}`,
      version: `${Math.floor(k / 10000)}.${Math.floor(k / 100) % 100}.${(k % 100) + 1}`,
      size: 4096,
      digest: digests[i % digests.length]!,
      labels: { channel: CHANNELS[k % 3]!, board: `board-${i % 20}` },
      createdAt: new Date(1_700_000_000_000 + i).toISOString(),
    };
  }
}

function publishByDigest(base: string, metadata: Record<string, unknown>): Promise<number> {
  const boundary = `bench${randomBytes(8).toString('hex')}`;
  const body = `--${boundary}\r\nContent-Disposition: form-data; name="metadata"\r\n\r\n${JSON.stringify(metadata)}\r\n--${boundary}--\r\n`;
  return send(base, 'POST', '/firmware', body, { 'Content-Type': `multipart/form-data; boundary=${boundary}` }).then((answer) => answer.status);
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 32 });

function send(base: string, method: string, pathAndQuery: string, body?: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${base}${pathAndQuery}`, { method, agent, headers: body === undefined ? headers : { ...headers, 'Content-Length': Buffer.byteLength(body) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function medianOf(times: number, task: () => Promise<unknown>): Promise<number> {
  const ms: number[] = [];
  for (let i = 0; i < times; i++) {
    const t0 = performance.now();
    await task();
    ms.push(performance.now() - t0);
  }
  return ms.sort((a, b) => a - b)[Math.floor(times / 2)] ?? NaN;
}

function percentiles(ms: number[]): { p50: number; p99: number } {
  const sorted = [...ms].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
  return { p50: at(0.5), p99: at(0.99) };
}

/** The scale rows as one table. */
export function printScale(rows: ScaleRow[]): void {
  const header = ['versions', 'start s', 'RSS MiB', 'publish p50/p99 ms', '16 at once p50/p99 ms', 'publishes/s', 'longest HEAD ms', 'snapshots', 'label query ms (rows)', 'update check ms'];
  const lines = rows.map((row) => [
    row.versions.toLocaleString('en'),
    row.startSeconds.toFixed(2),
    row.rssMiB.toFixed(0),
    `${row.sequential.p50.toFixed(1)} / ${row.sequential.p99.toFixed(1)}`,
    `${row.concurrent.p50.toFixed(1)} / ${row.concurrent.p99.toFixed(1)}`,
    row.concurrent.perSecond.toFixed(0),
    row.longestHeadMs.toFixed(1),
    String(row.snapshots),
    `${row.labelQuery.ms.toFixed(1)} (${row.labelQuery.rows})`,
    row.updateCheckMs.toFixed(1),
  ]);
  const widths = header.map((title, i) => Math.max(title.length, ...lines.map((line) => line[i]!.length)));
  console.log('\nIndex at scale: publish by digest and reads while the journal is folded into snapshots\n');
  for (const line of [header, ...lines]) console.log(line.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd());
}
