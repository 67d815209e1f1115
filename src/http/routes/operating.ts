import fs from 'node:fs';
import type Router from '@koa/router';
import { packageFile } from '../../package-file.js';
import type { Metrics } from '../metrics.js';

/** `GET /metrics` (Prometheus text format) and `GET /openapi.yaml` (the API description). */
export function operatingRoutes(router: Router, metrics: Metrics): void {
  const openapi = fs.readFileSync(packageFile('api/openapi.yaml'));

  router.get('/metrics', async (ctx) => {
    ctx.type = metrics.registry.contentType;
    ctx.body = await metrics.exposition();
  });

  router.get('/openapi.yaml', (ctx) => {
    ctx.type = 'application/yaml';
    ctx.set('Cache-Control', 'no-cache');
    ctx.body = openapi;
  });
}
