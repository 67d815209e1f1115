import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Digest } from '../src/digest.js';
import { EmbeddedIndex } from '../src/index/embedded-index.js';
import { inRange } from '../src/registry/version-query.js';
import { writeIndexImage } from './index-image.js';

export interface IndexTiming {
  measure: string;
  indexedMs: number;
  scanMs?: number;
  rows: number;
}

const CHANNELS = ['stable', 'beta', 'nightly'];
const BOARDS = Array.from({ length: 20 }, (_, i) => `board-${i}`);

/**
 * The index with 100k versions (100 names × 1000 versions, two labels each): how long the
 * queries devices and gateways make take, against the same label query answered by reading
 * every row's JSON labels (what the index would do without its labels table).
 */
export async function measureIndex(versions = 100_000): Promise<IndexTiming[]> {
  const home = await fs.mkdtemp(path.join(os.tmpdir(), 'spore-index-bench-'));
  const file = path.join(home, 'registry.db');
  const digest = `sha256:${'0'.repeat(64)}` as Digest;
  await writeIndexImage(
    file,
    Array.from({ length: versions }, (_, i) => {
      const minor = Math.floor((i % 1000) / 10);
      return {
        name: `device-${Math.floor(i / 1000)}`,
        version: `${Math.floor(minor / 10)}.${minor % 10}.${i % 10}${i % 7 === 0 ? '-rc.1' : ''}`,
        size: 1024,
        digest,
        labels: { channel: CHANNELS[i % 3] as string, board: BOARDS[i % 20] as string },
        createdAt: new Date(1_700_000_000_000 + i).toISOString(),
      };
    }),
  );
  const index = await EmbeddedIndex.open(file);
  try {
    const timings: IndexTiming[] = [];
    const time = <T>(run: () => T): [number, T] => {
      run(); // warm
      const started = performance.now();
      const result = run();
      return [performance.now() - started, result];
    };
    const [indexedMs, rows] = time(() => index.listNow({ labels: [['board', 'board-7'], ['channel', 'stable']] }));
    const [scanMs] = time(() => index.scanByJsonLabels([['board', 'board-7'], ['channel', 'stable']]));
    timings.push({ measure: `label query over ${versions / 1000}k versions (board AND channel)`, indexedMs, scanMs, rows: rows.length });
    const [nameMs, named] = time(() => index.listNow({ name: 'device-42', labels: [['channel', 'beta']] }));
    timings.push({ measure: 'one name with a label', indexedMs: nameMs, rows: named.length });
    const [rangeMs, ranged] = time(() => inRange(index.listNow({ name: 'device-42', releasesOnly: true }), { labels: [], range: '^5.2', prerelease: false }));
    timings.push({ measure: 'one name, releases in ^5.2', indexedMs: rangeMs, rows: ranged.length });
    const [latestMs] = time(() => index.listNow({ name: 'device-42', labels: [['channel', 'stable']], releasesOnly: true }, 1)[0]);
    timings.push({ measure: 'latest stable release of one name', indexedMs: latestMs, rows: 1 });
    return timings;
  } finally {
    await index.close();
    await fs.rm(home, { recursive: true, force: true });
  }
}
