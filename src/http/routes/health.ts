import type Router from '@koa/router';
import type { Registry } from '../../registry/registry.js';

/**
 * `GET /health`: 200 while the index answers and the data folder takes writes, else 503.
 * `GET /stats`: what is published and what deduplication saves.
 */
export function healthRoutes(router: Router, registry: Registry): void {
  // Checks asked for while one runs share it: a load balancer's burst of checks costs one look
  // at the index and the data folder, not one each (each look is a trip to the thread pool).
  let running: ReturnType<Registry['health']> | undefined;
  const check = () => {
    running ??= registry.health().finally(() => (running = undefined));
    return running;
  };
  router.get('/health', async (ctx) => {
    const { versions } = await check();
    ctx.body = { status: 'ok', versions };
  });

  router.get('/stats', async (ctx) => {
    const stats = await registry.stats();
    ctx.body = {
      versions: stats.versions,
      blobs: stats.distinctDigests,
      logical_bytes: stats.logicalBytes,
      stored_bytes: stats.storedBytes,
      saved_bytes: stats.logicalBytes - stats.storedBytes,
    };
  });
}
