import Router from '@koa/router';
import Koa from 'koa';
import type { BlobStore } from '../cas/blob-store.js';
import type { Logger } from '../log.js';
import type { Registry } from '../registry.js';
import { accessLog } from './access-log.js';
import { errorMiddleware } from './error-middleware.js';
import { firmwareRoutes } from './routes/firmware.js';
import { healthRoutes } from './routes/health.js';

export interface AppDeps {
  registry: Registry;
  store: BlobStore;
  log: Logger;
  maxUploadBytes: number;
  tokens: readonly string[];
}

/** The HTTP facade: thin routes over the registry, one error sink, one log line per request. */
export function createApp(deps: AppDeps): Koa {
  const app = new Koa();
  // Errors are answered and logged by errorMiddleware; what reaches koa's own handler is a
  // client that went away mid-download, which is not worth a stack trace.
  app.silent = true;
  app.use(accessLog(deps.log));
  app.use(errorMiddleware(deps.log));
  const router = new Router();
  firmwareRoutes(router, deps);
  healthRoutes(router, deps.registry);
  app.use(router.routes());
  app.use(router.allowedMethods());
  return app;
}
