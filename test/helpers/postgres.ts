import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import test, { type ExecutionContext } from 'ava';
import pg from 'pg';

const SCRIPT = fileURLToPath(new URL('../../../scripts/postgres.sh', import.meta.url));
const INITDB = '/usr/lib/postgresql/15/bin/initdb';

/** A throw-away PostgreSQL cluster started by scripts/postgres.sh. */
export interface PostgresServer {
  dir: string;
  /** Its `postgres` database: for creating others. */
  url: string;
  /** pg_ctl stop, keeping the data: the database is away until `resume`. */
  pause(): Promise<void>;
  /** Starts it again, on the same port with the same data. */
  resume(): Promise<void>;
  /**
   * Stops every process of the cluster (SIGSTOP): connections stay open, nothing answers — a
   * database that hangs. Returns the function that lets them go on (SIGCONT).
   */
  freeze(): Promise<() => Promise<void>>;
}

/** Why PostgreSQL cannot be started here, if it cannot. */
function whyNoPostgres(): string | undefined {
  if (process.getuid?.() !== 0) return 'they run PostgreSQL as the postgres user, which needs root';
  if (!fs.existsSync(INITDB)) return 'PostgreSQL 15 is not installed (run scripts/install-test-deps.sh as root)';
  return undefined;
}

const missing = whyNoPostgres();
if (missing) console.warn(`PostgreSQL tests are skipped: ${missing}`);

/** `test` where PostgreSQL can run, `test.skip` (reported as skipped) elsewhere. */
export const postgresTest = missing ? test.skip : test;

let shared: Promise<PostgresServer> | undefined;
const started: Promise<PostgresServer>[] = [];

if (!missing) {
  test.after.always('stop PostgreSQL', async () => {
    await Promise.all(
      started.map(async (starting) => {
        const server = await starting.catch(() => undefined); // a failed start left nothing running
        if (server) await stop(server);
      }),
    );
  });
}

/** This test file's cluster (ava runs each file in its own process), started on first use. */
export function postgres(): Promise<PostgresServer> {
  shared ??= start();
  return shared;
}

/** A cluster of the test's own, stopped when the test ends: for a test that restarts it. */
export async function privatePostgres(t: ExecutionContext): Promise<PostgresServer> {
  const server = start();
  const ready = await server;
  t.teardown(() => stop(ready));
  return ready;
}

/** A new, empty database in this file's cluster, for one test. */
export async function freshDatabase(server?: PostgresServer): Promise<string> {
  const { url } = server ?? (await postgres());
  const name = `t_${randomUUID().replaceAll('-', '')}`;
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${name}`);
  } finally {
    await client.end();
  }
  const database = new URL(url);
  database.pathname = `/${name}`;
  return database.href;
}

/** Runs one query on a connection of its own: what a test does behind the index's back. */
export async function query<T extends pg.QueryResultRow = pg.QueryResultRow>(url: string, text: string, values: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(text, values)).rows;
  } finally {
    await client.end();
  }
}

function start(): Promise<PostgresServer> {
  const server = (async () => {
    const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'spore-postgres-'));
    const { stdout } = await promisify(execFile)(SCRIPT, ['start', dir]);
    const url = /^DATABASE_URL=(.*)$/m.exec(stdout)?.[1];
    if (!url) throw new Error(`scripts/postgres.sh printed no DATABASE_URL: ${stdout}`);
    return {
      dir,
      url,
      pause: async () => void (await promisify(execFile)(SCRIPT, ['pause', dir])),
      resume: async () => void (await promisify(execFile)(SCRIPT, ['resume', dir])),
      freeze: () => freeze(dir),
    };
  })();
  started.push(server);
  return server;
}

/** The postmaster of the cluster in `dir` and every process it started, by PID. */
async function clusterPids(dir: string): Promise<number[]> {
  const postmaster = Number((await fsp.readFile(path.join(dir, 'data', 'postmaster.pid'), 'utf8')).split('\n')[0]);
  const children: number[] = [];
  for (const entry of await fsp.readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await fsp.readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    // Field 4 (after the command in parentheses) is the parent's PID.
    if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === postmaster) children.push(Number(entry));
  }
  return [postmaster, ...children];
}

async function freeze(dir: string): Promise<() => Promise<void>> {
  const pids = await clusterPids(dir);
  for (const pid of pids) process.kill(pid, 'SIGSTOP');
  let thawed = false;
  return async () => {
    if (thawed) return;
    thawed = true;
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGCONT');
      } catch {
        // gone already
      }
    }
  };
}

const stopped = new Set<string>();

async function stop(server: PostgresServer): Promise<void> {
  if (stopped.has(server.dir)) return;
  stopped.add(server.dir);
  await promisify(execFile)(SCRIPT, ['stop', server.dir]);
}
