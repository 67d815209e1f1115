import path from 'node:path';
import type { ExecutionContext } from 'ava';
import { loadConfig, type Environment } from '../../src/config/config.js';
import { createLogger } from '../../src/log.js';
import { startServer, type RunningServer } from '../../src/server.js';
import { request, type RawResponse } from './http.js';
import { firmwareUpload, type Multipart } from './multipart.js';
import { tempDir } from './temp-dir.js';

export interface TestRegistry {
  readonly url: string;
  /** The temp folder holding both the data folder and the index. */
  readonly home: string;
  readonly dataDir: string;
  readonly dbFile: string;
  /** Every log line the server wrote, parsed. */
  readonly logs: Record<string, unknown>[];
  post(upload: Multipart, headers?: Record<string, string>): Promise<RawResponse>;
  publish(metadata: unknown, firmware: Buffer): Promise<RawResponse>;
  get(pathAndQuery: string, headers?: Record<string, string>): Promise<RawResponse>;
  /** What the server has in flight now. */
  activity(): ReturnType<RunningServer['activity']>;
  /** The routes koa serves. */
  routes(): { path: string; methods: string[] }[];
  /** Rereads the tokens file, as SIGHUP does. */
  reloadTokens(): Promise<void>;
  /** Stops the server and starts a new one on the same data (a new port). */
  restart(): Promise<void>;
  close(): Promise<void>;
}

/**
 * The real server, on a loopback port chosen by the system, over a fresh temp folder; stopped
 * and removed when the test ends.
 */
export async function startRegistry(t: ExecutionContext, env: Environment = {}, home?: string): Promise<TestRegistry> {
  const folder = home ?? (await tempDir(t));
  const dataDir = path.join(folder, 'registry');
  const dbFile = path.join(folder, 'registry.db');
  const config = loadConfig({ PORT: '0', HOST: '127.0.0.1', REGISTRY_DIR: dataDir, REGISTRY_DB: dbFile, ...env });
  const logs: Record<string, unknown>[] = [];
  const log = createLogger({ write: (line: string) => void logs.push(JSON.parse(line) as Record<string, unknown>) });
  let server: RunningServer = await startServer(config, log);
  t.teardown(() => server.close());

  const registry: TestRegistry = {
    get url() {
      return server.url;
    },
    home: folder,
    dataDir,
    dbFile,
    logs,
    post: (upload, headers = {}) =>
      request(`${server.url}/firmware`, {
        method: 'POST',
        headers: { 'Content-Type': upload.contentType, 'Content-Length': upload.body.length, ...headers },
        body: upload.body,
      }),
    publish: (metadata, firmware) => registry.post(firmwareUpload(metadata, firmware)),
    get: (pathAndQuery, headers = {}) => request(`${server.url}${pathAndQuery}`, { headers }),
    activity: () => server.activity(),
    routes: () => server.routes,
    reloadTokens: () => server.reloadTokens(),
    async restart() {
      await server.close();
      server = await startServer(config, log);
    },
    close: () => server.close(),
  };
  return registry;
}
