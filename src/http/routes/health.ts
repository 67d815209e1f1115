import type Router from '@koa/router';
import type { Registry } from '../../registry/registry.js';

/**
 * `GET /health`: 200 while the index answers and the data folder takes writes, else 503.
 * `GET /stats`: what is published and what deduplication saves.
 */
export function healthRoutes(router: Router, registry: Registry): void {
  router.get('/health', async (ctx) => {
    const { versions } = await registry.health();
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
