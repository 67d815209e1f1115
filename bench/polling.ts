import fs from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { findNginx, startNginx } from './nginx.js';
import { startNodeServer, type Server } from './processes.js';
import type { RecordedAnswer } from './bare-http.js';
import { alternate, formatRatio, pairedRatio, sideBySide, type Measured, type RoundTools, type Target } from './rounds.js';

const MiB = 1024 * 1024;

export interface PollingRow {
  measure: string;
  registry: string;
  reference?: string;
  ratio?: string;
  perCpu?: string;
  p99?: string;
  note?: string;
}

export interface PollingTools extends RoundTools {
  fmt(value: number): string;
  /** Publishes `file` as `name@version` with `labels`. */
  publish(base: string, file: string, name: string, version: string, labels?: Record<string, string>): Promise<void>;
  randomFile(dir: string, name: string, size: number): Promise<string>;
}

/** Rounds per row: this machine's speed drifts by 2× over tens of seconds; five pairs outvote it. */
const ROUNDS = 5;

/**
 * What a fleet of devices sends most, per core (one registry process, one nginx worker, one
 * wrk thread), each row against nginx serving the same number of bytes from a static file:
 *
 *   update check 200     `/updates/node?current=1.0.0&label=channel=stable` → the JSON record;
 *                        nginx: a file holding the same JSON
 *   update check 304     the same with If-None-Match of that answer; nginx: the file's ETag
 *   update check 204     the device is current; nginx: an empty file
 *   /health              nginx: a file holding the same JSON
 *   version URL 304      a 16 MiB firmware with If-None-Match; nginx: the same file by its ETag
 *   4 KiB range          the last 4 KiB of it
 *
 * Each row runs five alternating rounds per server at 64 connections; the figures are each
 * server's medians (rate, requests answered per CPU second of the server — its own user +
 * system time: on a shared machine, what one core does whatever runs beside it — and p99
 * latency), and the ratios the medians of each round's pair, with their range. The requests
 * per CPU second are also compared with both servers loaded at once (`sideBySide`), which
 * the machine's drift cannot tilt: the per-core figure of record. Every row is also measured
 * with plain node:http giving the registry's answer, byte for byte (bare-http.ts): the floor
 * for any node:http server, rounds alternating with the others, side by side with nginx and
 * side by side with the registry (what the registry's routing, log line, id and metrics cost).
 */
export async function benchPolling(tools: PollingTools, registry: Server, home: string): Promise<PollingRow[]> {
  const nginxBinary = findNginx();
  if (!nginxBinary) {
    console.log('nginx is not installed (apt-get install nginx): polling rows are skipped.');
    return [];
  }
  const files = path.join(home, 'polling-files');
  await fs.mkdir(files, { recursive: true });
  const firmware = await tools.randomFile(files, 'polling-16.bin', 16 * MiB);
  await tools.publish(registry.url, firmware, 'bench-polling', '1.0.0');
  const small = await tools.randomFile(files, 'node.bin', 64 * 1024);
  await tools.publish(registry.url, small, 'node', '1.0.0', { channel: 'stable' });
  await tools.publish(registry.url, small, 'node', '1.1.0', { channel: 'stable' });

  const update = `${registry.url}/updates/node?current=1.0.0&label=channel=stable`;
  const current = `${registry.url}/updates/node?current=1.1.0&label=channel=stable`;
  const answer = await get(update);
  const health = await get(`${registry.url}/health`);
  if (answer.status !== 200 || (await get(current)).status !== 204 || health.status !== 200) throw new Error('the polling fixture does not answer as expected');

  // nginx's root: the same bytes as files.
  const root = path.join(home, 'polling-root');
  await fs.mkdir(root, { recursive: true });
  await fs.writeFile(path.join(root, 'update.json'), answer.body);
  await fs.writeFile(path.join(root, 'empty'), '');
  await fs.writeFile(path.join(root, 'health.json'), health.body);
  await fs.link(firmware, path.join(root, 'firmware.bin'));
  const nginxHome = path.join(home, 'polling-nginx');
  await fs.mkdir(nginxHome, { recursive: true });
  const nginx = await startNginx(nginxBinary, root, nginxHome);
  const etag = String(answer.headers.etag);
  let bare: Server | undefined;
  try {
    const theirs = (file: string) => `${nginx.url}/${file}`;
    const tagOf = async (url: string) => ({ 'If-None-Match': String((await get(url)).headers.etag) });
    const version = `${registry.url}/firmware/bench-polling/1.0.0`;
    const tail = { Range: `bytes=${16 * MiB - 4096}-${16 * MiB - 1}` };
    const ours = (url: string, headers: Record<string, string> = {}): Target => ({ url, headers, pid: registry.child.pid });
    const nginxs = (file: string, headers: Record<string, string> = {}): Target => ({ url: theirs(file), headers, pid: nginx.pid });
    const rows: [string, Target, Target][] = [
      [`update check 200 (${answer.body.length} B JSON)`, ours(update), nginxs('update.json')],
      ['update check 304 (If-None-Match)', ours(update, { 'If-None-Match': etag }), nginxs('update.json', await tagOf(theirs('update.json')))],
      ['update check 204 (current)', ours(current), nginxs('empty')],
      [`/health (${health.body.length} B JSON)`, ours(`${registry.url}/health`), nginxs('health.json')],
      ['version URL 304 (If-None-Match)', ours(version, await tagOf(version)), nginxs('firmware.bin', await tagOf(theirs('firmware.bin')))],
      ['4 KiB range at the end of 16 MiB', ours(version, tail), nginxs('firmware.bin', tail)],
    ];
    // node:http alone giving each row's answer as the registry gave it.
    const answersFile = path.join(files, 'bare-answers.json');
    await fs.writeFile(answersFile, JSON.stringify(await Promise.all(rows.map(([, target]) => recordAnswer(target)))));
    bare = await startNodeServer(new URL('./bare-http.js', import.meta.url), [], { ANSWERS_FILE: answersFile }, path.join(home, 'bare-http.log'));
    const floorUrl = bare.url;
    const floorPid = bare.child.pid;
    const result: PollingRow[] = [];
    for (const [index, [measure, ours, reference]] of rows.entries()) {
      const rounds = Math.max(tools.rounds, ROUNDS);
      const floor: Target = { url: `${floorUrl}/${index}`, headers: ours.headers ?? {}, pid: floorPid };
      const [a, b, c] = (await alternate({ ...tools, rounds }, [ours, reference, floor])) as [Measured, Measured, Measured];
      const together = await sideBySide(tools, ours, reference, rounds);
      const floorTogether = await sideBySide(tools, floor, reference, rounds);
      const overFloor = await sideBySide(tools, ours, floor, rounds);
      result.push({
        measure: `${measure}, req/s`,
        registry: tools.fmt(a.rate),
        reference: tools.fmt(b.rate),
        ratio: formatRatio(pairedRatio(a, b, 'rate')),
        perCpu: `${formatRatio(together)} side by side; alone ${tools.fmt(a.perCpu)} / ${tools.fmt(b.perCpu)} (${formatRatio(pairedRatio(a, b, 'perCpu'))})`,
        p99: `${a.p99.toFixed(2)} / ${b.p99.toFixed(2)} ms (${formatRatio(pairedRatio(a, b, 'p99'), 1)})`,
        note:
          `reference: nginx; node:http alone giving the same answer: ${tools.fmt(c.rate)} req/s (${formatRatio(pairedRatio(c, b, 'rate'))}), ` +
          `per CPU s ${formatRatio(floorTogether)} side by side, p99 ${c.p99.toFixed(2)} ms (${formatRatio(pairedRatio(c, b, 'p99'), 1)}); ` +
          `registry / node:http alone per CPU s side by side ${formatRatio(overFloor)}`,
      });
    }
    return result;
  } finally {
    await bare?.stop();
    await nginx.stop();
  }
}

/**
 * The answer the registry gives to `target` now, to be given again by node:http alone: its
 * status, its header fields in their order (less those node:http adds itself, and its request
 * id as a fixed one of the same length) and its body.
 */
async function recordAnswer(target: Target): Promise<RecordedAnswer> {
  const { status, rawHeaders, body } = await get(target.url, target.headers);
  const added = new Set(['date', 'connection', 'keep-alive']);
  const headers: string[] = [];
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const [name, value] = [rawHeaders[i] as string, rawHeaders[i + 1] as string];
    if (added.has(name.toLowerCase())) continue;
    headers.push(name, name.toLowerCase() === 'x-request-id' ? 'b'.repeat(value.length) : value);
  }
  return { status, headers, body: body.toString('base64') };
}

function get(url: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: http.IncomingHttpHeaders; rawHeaders: string[]; body: Buffer }> {
  return new Promise((resolve, reject) => {
    http.get(url, { headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, rawHeaders: res.rawHeaders, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    }).on('error', reject);
  });
}
