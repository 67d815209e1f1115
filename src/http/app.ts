import type { RequestListener } from 'node:http';
import cors from '@koa/cors';
import Router from '@koa/router';
import Koa from 'koa';
import type { WriteTokens } from '../auth/write-tokens.js';
import type { BlobStore } from '../cas/blob-store.js';
import type { Logger } from '../log.js';
import type { Registry } from '../registry/registry.js';
import { accessLog, type Observer } from './access-log.js';
import { Downloads } from './download/downloads.js';
import { continueWhenRead } from './deferred-continue.js';
import { downloadFastPath } from './download/fast-path.js';
import { errorMiddleware } from './error-middleware.js';
import { LingeringClose } from './lingering-close.js';
import { Metrics } from './metrics.js';
import { downloadRoutes } from './routes/downloads.js';
import { firmwareRoutes } from './routes/firmware.js';
import { healthRoutes } from './routes/health.js';
import { lifecycleRoutes } from './routes/lifecycle.js';
import { operatingRoutes } from './routes/operating.js';
import { redirectBrowsersToUi, uiRoutes } from './routes/ui.js';
import { updateRoutes } from './routes/updates.js';
import { UpdateAnswers } from './updates/update-answers.js';
import { updateFastPath } from './updates/update-fast-path.js';
import type { MinimumRate } from './upload-rate.js';
import { requireWriteToken } from './write-auth.js';

export interface AppDeps {
  registry: Registry;
  store: BlobStore;
  log: Logger;
  tokens: WriteTokens;
  maxUploadBytes: number;
  maxConcurrentUploads: number;
  /** MIN_UPLOAD_RATE over MIN_UPLOAD_RATE_WINDOW_SECONDS: slower uploads are cut off. */
  minimumUploadRate: MinimumRate;
  /** PUBLIC_URL: makes the URLs the registry returns absolute. */
  publicUrl: string | undefined;
  trustProxy: boolean;
  /** Origins allowed to call from a browser ('*' for any); empty: no CORS headers at all. */
  corsOrigins: readonly string[];
  /** Called with the duration of every index snapshot write. */
  onPersist?: (seconds: number) => void;
}

export interface Facade {
  listener: RequestListener;
  /** For the server's 'checkContinue' event: answers as `listener`, sending 100 Continue only if the body is read. */
  checkContinue: RequestListener;
  /** Closes the connections lingering after a refusal (shutdown). */
  closeLingering(): void;
  metrics: Metrics;
  routes: { path: string; methods: string[] }[];
  /**
   * What is in flight now (for tests and metrics): download bodies, connections lingering after
   * a refusal; and the update answers the fast path holds for the registry as it is.
   */
  activity(): { downloads: number; lingering: number; updateAnswers: number };
}

/**
 * The HTTP facade: thin koa routes over the registry, one error sink, one log line and one
 * set of metrics per request; in front of koa, the update-check and download fast paths (see
 * updates/update-fast-path.ts and download/fast-path.ts).
 */
export function createFacade(deps: AppDeps): Facade {
  const downloads = new Downloads(deps.registry, deps.store);
  const metrics = new Metrics({
    versions: async () => (await deps.registry.stats()).versions,
    storedBytes: async () => (await deps.registry.stats()).storedBytes,
    downloadsInFlight: () => downloads.bodiesInFlight,
  });
  const observer: Observer = { log: deps.log, metrics, trustProxy: deps.trustProxy };

  const app = new Koa({ proxy: deps.trustProxy });
  // Errors are answered and logged by errorMiddleware; what reaches koa's own handler is a
  // client that went away mid-download, which is not worth a stack trace.
  app.silent = true;
  app.use(accessLog(observer));
  const lingering = new LingeringClose();
  app.use(errorMiddleware(deps.log, lingering));
  if (deps.corsOrigins.length > 0) app.use(corsFor(deps.corsOrigins));

  const router = new Router();
  const requireToken = requireWriteToken(deps.tokens);
  const baseUrl = deps.publicUrl ?? '';
  firmwareRoutes(router, { ...deps, requireToken, metrics });
  lifecycleRoutes(router, { registry: deps.registry, requireToken, baseUrl });
  downloadRoutes(router, downloads);
  const updateAnswers = new UpdateAnswers(() => deps.registry.changes);
  updateRoutes(router, deps.registry, baseUrl, updateAnswers);
  healthRoutes(router, deps.registry);
  operatingRoutes(router, metrics);
  // The web page at /ui/; a browser asking for / is sent there (API answers unchanged).
  app.use(redirectBrowsersToUi());
  uiRoutes(router);
  app.use(router.routes());
  app.use(router.allowedMethods());

  const viaKoa = app.callback();
  const fastPath = downloadFastPath(downloads, observer, { cors: deps.corsOrigins.length > 0 });
  // Update checks that koa answered since the last change, answered again as koa did.
  const updatesFastPath = updateFastPath(updateAnswers, observer);
  const listener: RequestListener = (req, res) => {
    // A connection lingering after a refusal takes no further requests.
    if (req.socket.writableEnded) return void req.socket.destroy();
    if (!updatesFastPath(req, res) && !fastPath(req, res)) void viaKoa(req, res);
  };
  return {
    listener,
    checkContinue: (req, res) => {
      continueWhenRead(req, res);
      listener(req, res);
    },
    closeLingering: () => lingering.closeAll(),
    metrics,
    routes: router.stack.map((layer) => ({ path: String(layer.path), methods: [...layer.methods] })),
    activity: () => ({ downloads: downloads.bodiesInFlight, lingering: lingering.count, updateAnswers: updateAnswers.size }),
  };
}

/**
 * CORS (off unless CORS_ORIGINS is set): browsers on the listed origins may read answers,
 * including the headers a download UI needs (ETag, Content-Range, digests, Location), and
 * send the Authorization header for writes.
 */
function corsFor(origins: readonly string[]) {
  return cors({
    origin: (ctx) => {
      const origin = ctx.get('Origin');
      return origins.includes('*') ? '*' : origins.includes(origin) ? origin : '';
    },
    allowMethods: ['GET', 'HEAD', 'POST', 'PATCH', 'DELETE'],
    allowHeaders: ['Authorization', 'Content-Type', 'If-Match', 'If-None-Match', 'If-Modified-Since', 'If-Unmodified-Since', 'If-Range', 'Range', 'X-Request-Id'],
    exposeHeaders: ['ETag', 'Last-Modified', 'Content-Range', 'Content-Disposition', 'Repr-Digest', 'Content-Digest', 'Location', 'X-Request-Id', 'Retry-After'],
    maxAge: 600,
  });
}
