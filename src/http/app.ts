import type { RequestListener } from 'node:http';
import Router from '@koa/router';
import Koa from 'koa';
import type { BlobStore } from '../cas/blob-store.js';
import type { Logger } from '../log.js';
import type { Registry } from '../registry/registry.js';
import { accessLog } from './access-log.js';
import { Downloads } from './download/downloads.js';
import { downloadFastPath } from './download/fast-path.js';
import { errorMiddleware } from './error-middleware.js';
import { downloadRoutes } from './routes/downloads.js';
import { firmwareRoutes } from './routes/firmware.js';
import { healthRoutes } from './routes/health.js';
import { lifecycleRoutes } from './routes/lifecycle.js';
import { updateRoutes } from './routes/updates.js';
import { requireWriteToken } from './write-auth.js';

export interface AppDeps {
  registry: Registry;
  store: BlobStore;
  log: Logger;
  maxUploadBytes: number;
  tokens: readonly string[];
  /** PUBLIC_URL: makes the URLs the registry returns absolute. */
  publicUrl: string | undefined;
}

/**
 * The HTTP facade: thin koa routes over the registry, one error sink, one log line per
 * request; in front of koa, the download fast path (see fast-path.ts).
 */
export interface Facade {
  listener: RequestListener;
  /** What is in flight now (for tests and metrics). */
  activity(): { downloads: number };
}

export function createFacade(deps: AppDeps): Facade {
  const downloads = new Downloads(deps.registry, deps.store);
  const app = new Koa();
  // Errors are answered and logged by errorMiddleware; what reaches koa's own handler is a
  // client that went away mid-download, which is not worth a stack trace.
  app.silent = true;
  app.use(accessLog(deps.log));
  app.use(errorMiddleware(deps.log));
  const router = new Router();
  const requireToken = requireWriteToken(deps.tokens);
  const baseUrl = deps.publicUrl ?? '';
  firmwareRoutes(router, { ...deps, requireToken });
  lifecycleRoutes(router, { registry: deps.registry, requireToken, baseUrl });
  downloadRoutes(router, downloads);
  updateRoutes(router, deps.registry, baseUrl);
  healthRoutes(router, deps.registry);
  app.use(router.routes());
  app.use(router.allowedMethods());

  const viaKoa = app.callback();
  const fastPath = downloadFastPath(downloads, deps.log);
  return {
    listener: (req, res) => {
      if (!fastPath(req, res)) void viaKoa(req, res);
    },
    activity: () => ({ downloads: downloads.bodiesInFlight }),
  };
}
