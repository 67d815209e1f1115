import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { measureScale, type ScaleRow } from './index-scale.js';

/**
 * `npm run bench:scale [-- --million]`: the index at 1k and 100k versions (and 1M with
 * --million, which takes a few minutes to build), printed as one table.
 */
const sizes = [1_000, 100_000, ...(process.argv.includes('--million') ? [1_000_000] : [])];
const results: ScaleRow[] = [];
for (const versions of sizes) {
  const home = await fs.mkdtemp(path.join(os.tmpdir(), 'spore-scale-'));
  try {
    results.push(await measureScale(home, versions));
  } finally {
    await fs.rm(home, { recursive: true, force: true });
  }
}
printScale(results);

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
