import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { ExecutionContext } from 'ava';
import { findNginx, startNginxWith } from '../../bench/nginx.js';
import { spawnServer, type ChildServer } from './child-server.js';
import { tempDir } from './temp-dir.js';

/**
 * Why a cluster cannot run here, if it cannot: it needs root (PostgreSQL runs as the postgres
 * user, Ceph's daemons as root), Debian's postgresql-15, Ceph's mon, OSD and RGW, and nginx
 * (scripts/install-test-deps.sh installs them).
 */
export function whyNoCluster(): string | undefined {
  if (process.getuid?.() !== 0) return 'it starts PostgreSQL and Ceph, which needs root';
  if (!existsSync('/usr/lib/postgresql/15/bin/initdb')) return 'PostgreSQL 15 is not installed';
  const tools = ['ceph-mon', 'ceph-osd', 'radosgw', 'radosgw-admin', 'monmaptool'];
  if (spawnSync('sh', ['-c', tools.map((tool) => `command -v ${tool}`).join(' && ')]).status !== 0) return 'Ceph is not installed';
  if (!findNginx()) return 'nginx is not installed';
  return undefined;
}

/** The PostgreSQL the instances share, as test/helpers/postgres.ts gives it. */
export interface SharedDatabase {
  url: string;
  /** Stops the server, keeping its data. */
  pause(): Promise<void>;
  /** Starts it again on the same port. */
  resume(): Promise<void>;
}

export interface ClusterOptions {
  /** The nginx binary (bench/nginx.ts findNginx). */
  nginx: string;
  instances: number;
  /** The blob store the instances share: BLOB_STORE=s3 and its settings (test/helpers/stores.ts s3Env). */
  blobEnv: Record<string, string>;
  /**
   * The index they share. Without one, each instance keeps an embedded index of its own: only
   * for checking the harness itself (nginx, the traffic), never for the cluster's promises.
   */
  database?: SharedDatabase;
}

export interface Instance {
  /** Its place in `Cluster.instances`, and its name in messages: `instance 0`. */
  readonly number: number;
  readonly url: string;
  readonly port: number;
  /** The running process; replaced by `restart`. */
  server: ChildServer;
}

/** When the database was away: from the moment `pause` began to the moment `resume` returned. */
export interface Outage {
  awayAt: number;
  backAt: number;
}

export interface Cluster {
  /** nginx in front of every instance. */
  url: string;
  instances: Instance[];
  /** `kill -9` the instance and wait until it is gone; resolves with when the signal went. */
  kill(instance: Instance): Promise<number>;
  /** Starts a killed instance again, on its port, with its data folder; resolves once it listens. */
  restart(instance: Instance): Promise<void>;
  /** Stops PostgreSQL, runs `whileAway`, starts it again. */
  restartDatabase(whileAway?: () => Promise<void>): Promise<Outage>;
  /** Every instance that exited without being killed: how, and the last it printed. */
  crashes: string[];
  /** What the instances logged as warnings or errors, `instance N: message`, one entry a line. */
  warnings(): string[];
}

/**
 * N registries as separate processes of the built server (`spore-registry serve`), each on its
 * own loopback port with its own working folder, sharing one blob store and (with `database`)
 * one PostgreSQL index; nginx in front of them. Everything is stopped when the test ends.
 */
export async function startCluster(t: ExecutionContext, options: ClusterOptions): Promise<Cluster> {
  const env = { ...options.blobEnv, ...(options.database ? { DATABASE_URL: options.database.url } : {}) };
  const homes = await Promise.all(Array.from({ length: options.instances }, async (_, number) => {
    const home = path.join(await tempDir(t), `instance-${number}`);
    await fs.mkdir(home);
    return home;
  }));
  const crashes: string[] = [];
  const killed = new Set<ChildServer>();
  const spawned: { number: number; server: ChildServer }[] = [];
  const spawn = async (number: number, extra: Record<string, string> = {}) => {
    const server = await spawnServer(t, homes[number]!, { ...env, ...extra });
    spawned.push({ number, server });
    watchForCrash(server, `instance ${number}`, killed, crashes);
    return server;
  };
  const instances: Instance[] = [];
  // One after the other: several instances migrating one database at once is the server's
  // business (an advisory lock), but starting them together only slows each on two cores.
  for (const number of homes.keys()) {
    const server = await spawn(number);
    instances.push({ number, url: server.url, port: Number(new URL(server.url).port), server });
  }
  const proxy = await startNginxWith(options.nginx, await tempDir(t), PROXY_LOCATION, upstreamOf(instances));
  t.teardown(() => proxy.stop());

  return {
    url: proxy.url,
    instances,
    crashes,
    warnings: () =>
      spawned.flatMap(({ number, server }) =>
        server.lines.flatMap((line) => {
          const { level, msg } = JSON.parse(line) as { level: string; msg: string };
          // Every instance warns at start that writes are open: the test means them to be.
          return (level === 'warn' || level === 'error' || level === 'fatal') && !msg.startsWith('REGISTRY_TOKENS') ? [`instance ${number}: ${msg}`] : [];
        }),
      ),
    async kill(instance) {
      killed.add(instance.server);
      const at = Date.now();
      instance.server.child.kill('SIGKILL');
      await instance.server.exited;
      return at;
    },
    async restart(instance) {
      instance.server = await spawn(instance.number, { PORT: String(instance.port) });
    },
    async restartDatabase(whileAway) {
      const database = options.database;
      if (!database) throw new Error('the instances share no database to restart');
      const awayAt = Date.now();
      await database.pause();
      await whileAway?.();
      await database.resume();
      return { awayAt, backAt: Date.now() };
    },
  };
}

/** Notes in `crashes` an instance that exits while the test runs, unless the test killed it. */
function watchForCrash(server: ChildServer, name: string, killed: Set<ChildServer>, crashes: string[]): void {
  let stderr = '';
  server.child.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-2000)));
  void server.exited.then((code) => {
    if (killed.has(server)) return;
    crashes.push(`${name} exited (${code ?? server.child.signalCode}): ${server.lines.slice(-5).join('\n')}\n${stderr}`);
  });
}

/**
 * The instances as one upstream. `max_fails=0`: nginx keeps no tally of failed instances. With
 * its default (one failure puts an instance out for 10 s), the 503 every instance rightly answers
 * to a write while PostgreSQL is away would put all three out, and nginx would then answer 502
 * to the downloads they are still serving. A killed instance costs a refused connection on
 * loopback, after which nginx tries the next. Idle connections to an instance close after 4 s,
 * before the server's own keep-alive timeout (Node's 5 s), so nginx never sends a request on a
 * connection the instance is closing.
 */
function upstreamOf(instances: Instance[]): string {
  return `upstream registry {
    ${instances.map((instance) => `server 127.0.0.1:${instance.port} max_fails=0;`).join('\n    ')}
    keepalive 16;
    keepalive_timeout 4s;
  }`;
}

/**
 * Retries go to the next instance on a connection error, a timeout, a 502 or a 503, and only for
 * requests nginx calls idempotent (GET, HEAD, PUT, DELETE, OPTIONS, TRACE): `non_idempotent` is
 * deliberately not in the list. A POST or PATCH that reached an instance may have been applied
 * before the instance died or answered 503; sent again elsewhere, a publish would come back 200
 * instead of the 201 the first attempt earned, and the client would never learn which instance
 * applied it. The client retries those itself, knowing what it sent. (A DELETE that is retried
 * may find its version gone: 404.) Bodies stream both ways (no buffering): uploads up to the
 * registry's own limit, downloads with the instance's Content-Length.
 */
const PROXY_LOCATION = `client_max_body_size 1g;
    location / {
      proxy_pass http://registry;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_request_buffering off;
      proxy_buffering off;
      proxy_connect_timeout 2s;
      proxy_read_timeout 60s;
      proxy_next_upstream error timeout http_502 http_503;
      proxy_next_upstream_tries 3;
    }`;
