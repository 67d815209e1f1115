import path from 'node:path';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Config } from './config/config.js';
import { WriteTokens } from './auth/write-tokens.js';
import { createFacade, type Facade } from './http/app.js';
import { answerClientErrors } from './http/client-errors.js';
import type { FirmwareIndex } from './index/firmware-index.js';
import { openIndex } from './index/open-index.js';
import type { Logger } from './log.js';
import { writePidFile } from './pid-file.js';
import { checkPortFree } from './port-check.js';
import { Registry } from './registry/registry.js';
import { openStorage, type Storage } from './storage.js';

export interface RunningServer {
  /** `http://host:port`, with the port actually bound (useful with port 0). */
  url: string;
  port: number;
  registry: Registry;
  activity: Facade['activity'];
  /** Every route koa serves (the OpenAPI test compares them with api/openapi.yaml). */
  routes: Facade['routes'];
  /** Reads REGISTRY_TOKENS_FILE again (SIGHUP); on failure the tokens in use stay. */
  reloadTokens(): Promise<void>;
  /** Stops accepting, lets requests in flight finish, persists, releases the index. */
  close(): Promise<void>;
}

/** How long in-flight requests get to finish on shutdown before their connections are cut. */
const DRAIN_MS = 10_000;

/**
 * Opens the data and serves it. Start-up, in order:
 *   1. check the port is free, before anything is created on disk;
 *   2. open the blob store: a bucket that is missing or refuses the credentials stops start-up
 *      here, in one line;
 *   3. take the index (its lock keeps a second registry away from the same data) and replay
 *      its journal; then clear the store's temp area: empty `.tmp` (nothing can be in flight in
 *      a registry that is not running yet), or sweep a bucket's temp keys and multipart uploads
 *      older than S3_TEMP_GRACE_SECONDS (other registries may share the bucket);
 *   4. with a version tree, bring the links of the versions the journal replayed up to date
 *      (the only ones that can lag after a crash); every link when the index is new or from an
 *      older release, or when REPAIR_TREE=all asks (a restored backup, which has no tree);
 *   5. listen, and write `<REGISTRY_DB>.pid` for whoever sends signals.
 */
export async function startServer(config: Config, log: Logger): Promise<RunningServer> {
  await checkPortFree(config.port, config.host);
  // The store first: a bucket that is missing or refuses the credentials stops start-up
  // before anything is created on disk.
  const storage = await openStorage(config.blobStore, config.registryDir);
  let index: FirmwareIndex;
  try {
    index = await openIndex(config, log);
  } catch (error) {
    storage.close();
    throw error;
  }
  try {
    const { store, view } = storage;
    const leftovers = await storage.clearTemp();
    const registry = new Registry({ store, index, view, log });
    const { opened } = index;
    const everyLink = opened.fresh || config.repairTree === 'all';
    const repair = await registry.repairTree(everyLink ? undefined : opened.touched);
    for (const record of repair.missingBlobs) {
      log.error({ name: record.name, version: record.version, digest: record.digest }, 'published version has no blob; run fsck');
    }
    for (const failed of repair.failed) {
      log.error({ ...failed }, 'version link could not be made; the version is served all the same');
    }

    const tokens = await WriteTokens.load(config.tokens, config.tokensFile);
    const facade = createFacade({
      registry,
      store,
      log,
      tokens,
      maxUploadBytes: config.maxUploadBytes,
      maxConcurrentUploads: config.maxConcurrentUploads,
      minimumUploadRate: { bytesPerSecond: config.minUploadRate, windowMs: config.uploadRateWindowMs },
      publicUrl: config.publicUrl,
      trustProxy: config.trustProxy,
      corsOrigins: config.corsOrigins,
    });
    index.observePersist((seconds) => facade.metrics.persistSeconds.observe(seconds));
    // Request headers are capped at 16 KiB (431 beyond) and must arrive within
    // HEADERS_TIMEOUT_SECONDS: a client trickling them in (slowloris) is cut off.
    const server = http.createServer(
      // Node checks header and request deadlines on this interval (30 s by default), so it must
      // be finer than the deadline itself.
      { maxHeaderSize: 16 * 1024, connectionsCheckingInterval: Math.min(1000, Math.max(50, config.headersTimeoutMs / 2)) },
      facade.listener,
    );
    server.headersTimeout = config.headersTimeoutMs;
    server.on('checkContinue', facade.checkContinue);
    answerClientErrors(server, log);
    // A client that stops reading (or sending) is cut off, which releases what its request
    // holds; a slow but moving download is not. Uploads may take longer than Node's default
    // five minutes for a whole request, so that limit is off and the idle limit guards them.
    server.timeout = config.idleTimeoutMs;
    server.requestTimeout = 0;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.port, config.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const removePidFile = await writePidFile(`${config.registryDb}.pid`).catch((error: unknown) => {
      server.close();
      throw error;
    });
    const { port } = server.address() as AddressInfo;
    const host = config.host === '0.0.0.0' || config.host === '::' ? 'localhost' : config.host;
    const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;

    if (!tokens.enabled) {
      log.warn({}, 'REGISTRY_TOKENS and REGISTRY_TOKENS_FILE are not set: anyone who can reach this server can publish, relabel and delete firmware');
    }
    log.info(
      {
        url,
        blobs: storage.location,
        // A database URL may hold a password: only which engine is logged.
        ...(config.index.kind === 'postgres' ? { index: 'postgresql' } : { registryDb: path.resolve(config.registryDb) }),
        versions: (await index.stats()).versions,
        tokens: tokens.count,
        removedTempFiles: leftovers,
        journalReplayed: opened.replayed,
        linksChecked: repair.checked,
        relinked: repair.relinked,
      },
      'spore-registry listening',
    );

    let closing: Promise<void> | undefined;
    return {
      url,
      port,
      registry,
      activity: facade.activity,
      routes: facade.routes,
      reloadTokens: async () => {
        try {
          const count = await tokens.reload();
          log.info({ tokens: count }, 'write tokens reloaded');
        } catch (error) {
          log.error({ err: error }, 'write tokens not reloaded');
        }
      },
      close: () => (closing ??= shutdown(server, facade, index, storage, log).finally(removePidFile)),
    };
  } catch (error) {
    storage.close();
    await index.close();
    throw error;
  }
}

async function shutdown(server: http.Server, facade: Facade, index: FirmwareIndex, storage: Storage, log: Logger): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  // Connections lingering after a refusal only discard bytes: nothing to finish there.
  facade.closeLingering();
  // Idle kept-alive connections close now; busy ones a moment after their answer is out,
  // instead of idling until the keep-alive timeout.
  server.keepAliveTimeout = 1;
  server.closeIdleConnections();
  const cut = setTimeout(() => {
    log.warn({}, `requests still running after ${DRAIN_MS} ms; closing their connections`);
    server.closeAllConnections();
  }, DRAIN_MS);
  await closed;
  clearTimeout(cut);
  storage.close();
  await index.close();
  log.info({}, 'spore-registry stopped');
}
