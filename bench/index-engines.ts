import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PollingRow, PollingTools } from './polling.js';
import { alternate, formatRatio, pairedRatio } from './rounds.js';
import { startNodeServer, type Server } from './processes.js';

const POSTGRES_SCRIPT = fileURLToPath(new URL('../../scripts/postgres.sh', import.meta.url));
const INITDB = '/usr/lib/postgresql/15/bin/initdb';

/**
 * The requests devices send most, answered by a registry whose index is in PostgreSQL beside
 * one with the embedded index (sql.js), in one run, same load generator, same bytes (issue 11:
 * answers come from the instance's caches, not from a query per request, so the ratio should
 * be near 1). Both keep blobs in a folder, so only the index differs. A third row lists a
 * name's versions (`GET /firmware?name=`), which no answer cache holds: the index's own read
 * path.
 */
export async function benchIndexEngines(tools: PollingTools, embedded: Server, home: string): Promise<PollingRow[]> {
  if (process.getuid?.() !== 0 || !fs.existsSync(INITDB)) {
    console.log('PostgreSQL 15 is not installed, or this is not root (scripts/install-test-deps.sh): index engine rows are skipped.');
    return [];
  }
  // Not under `home`: the postgres user must reach the folder, and `home` is root's alone (0700).
  const pgHome = path.join(os.tmpdir(), `spore-bench-postgres-${process.pid}`);
  const started = execFileSync('sh', [POSTGRES_SCRIPT, 'start', pgHome], { encoding: 'utf8' });
  const url = /DATABASE_URL=(\S+)/.exec(started)?.[1];
  let shared: Server | undefined;
  try {
    if (!url) throw new Error(`scripts/postgres.sh printed no DATABASE_URL: ${started}`);
    shared = await startNodeServer(new URL('../bin/spore-registry.js', import.meta.url), ['serve'], {
      PORT: '0',
      HOST: '127.0.0.1',
      REGISTRY_DIR: path.join(home, 'pg-registry'),
      REGISTRY_DB: path.join(home, 'pg-registry.db'),
      DATABASE_URL: url,
    }, path.join(home, 'pg-registry.log'));
    const firmware = await tools.randomFile(path.join(home, 'files'), 'engines.bin', 64 * 1024);
    for (const server of [embedded, shared]) {
      for (const version of ['1.0.0', '1.1.0']) await tools.publish(server.url, firmware, 'engines', version, { channel: 'stable' });
    }
    const update = '/updates/engines?current=1.0.0&label=channel=stable';
    const version = '/firmware/engines/1.1.0';
    const etagOf = async (url: string) => {
      const answer = await fetch(url);
      await answer.arrayBuffer();
      return { 'If-None-Match': String(answer.headers.get('etag')) };
    };
    const rows: [string, string, (base: string) => Promise<Record<string, string>>][] = [
      ['update check 200', update, async () => ({})],
      ['update check 304', update, (base) => etagOf(`${base}${update}`)],
      ['version URL 304', version, (base) => etagOf(`${base}${version}`)],
      ['list a name (GET /firmware?name=)', '/firmware?name=engines', async () => ({})],
    ];
    const result: PollingRow[] = [];
    for (const [measure, route, headersFor] of rows) {
      const targets = [];
      for (const server of [shared, embedded]) targets.push({ url: `${server.url}${route}`, headers: await headersFor(server.url), pid: server.child.pid });
      const [pg, sqljs] = await alternate(tools, targets);
      if (!pg || !sqljs) throw new Error('a measurement is missing');
      result.push({
        measure: `${measure}, PostgreSQL index, req/s`,
        registry: tools.fmt(pg.rate),
        reference: tools.fmt(sqljs.rate),
        ratio: formatRatio(pairedRatio(pg, sqljs, 'rate')),
        perCpu: `${tools.fmt(pg.perCpu)} / ${tools.fmt(sqljs.perCpu)} (${formatRatio(pairedRatio(pg, sqljs, 'perCpu'))})`,
        p99: `${pg.p99.toFixed(2)} / ${sqljs.p99.toFixed(2)} ms`,
        note: 'reference: the embedded (sql.js) index',
      });
    }
    return result;
  } finally {
    await shared?.stop();
    execFileSync('sh', [POSTGRES_SCRIPT, 'stop', pgHome], { stdio: 'ignore' });
  }
}
