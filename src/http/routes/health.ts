import type Router from '@koa/router';
import type { Registry } from '../../registry.js';

/** `GET /health`: 200 while the index answers and the data folder takes writes, else 503. */
export function healthRoutes(router: Router, registry: Registry): void {
  router.get('/health', async (ctx) => {
    const { versions } = await registry.health();
    ctx.body = { status: 'ok', versions };
  });
}
