import type Router from '@koa/router';
import type { Middleware } from 'koa';
import { RegistryError } from '../../errors.js';
import { checkName, checkVersion } from '../../firmware/identifiers.js';
import { checkLabels } from '../../firmware/labels.js';
import type { Registry } from '../../registry/registry.js';
import { readJsonObject } from '../json-body.js';
import { parseVersionQuery, single } from '../query-params.js';
import { recordJson } from '../record-json.js';

export interface LifecycleRouteDeps {
  registry: Registry;
  requireToken: Middleware;
  /** How the registry's own URLs start: PUBLIC_URL, or '' for relative URLs. */
  baseUrl: string;
}

/** Finding, promoting and retiring firmware (SPEC §3, beyond the seed). */
export function lifecycleRoutes(router: Router, { registry, requireToken, baseUrl }: LifecycleRouteDeps): void {
  const urlOf = (name: string, version: string) => firmwareUrl(baseUrl, name, version);

  // Before /firmware/:name/:version, which would otherwise take "latest" for a version.
  router.get('/firmware/:name/latest', async (ctx) => {
    const name = checkName(ctx.params.name);
    const record = await registry.latest(name, parseVersionQuery(ctx.query, { prerelease: false }));
    if (!record) throw new RegistryError('NOT_FOUND', `no published version of ${name} matches`, { name });
    const url = urlOf(record.name, record.version);
    ctx.status = 302;
    ctx.set('Location', url);
    ctx.set('Cache-Control', 'no-cache');
    ctx.body = { name: record.name, version: record.version, url };
  });

  router.patch('/firmware/:name/:version', requireToken, async (ctx) => {
    const name = checkName(ctx.params.name);
    const version = checkVersion(ctx.params.version);
    const body = await readJsonObject(ctx);
    const unknown = Object.keys(body).filter((key) => key !== 'labels');
    if (unknown.length > 0 || body.labels === undefined) {
      throw new RegistryError('METADATA_INVALID', 'the body is {"labels": {...}}: the labels that replace the current ones', { unknown });
    }
    ctx.body = recordJson(await registry.relabel(name, version, checkLabels(body.labels)));
  });

  router.delete('/firmware/:name/:version', requireToken, async (ctx) => {
    await registry.unpublish(checkName(ctx.params.name), checkVersion(ctx.params.version));
    ctx.status = 204;
  });

  router.post('/gc', requireToken, async (ctx) => {
    const dryRun = single(ctx.query, 'dry_run');
    if (dryRun !== undefined && dryRun !== 'true' && dryRun !== 'false') {
      throw new RegistryError('QUERY_INVALID', 'dry_run is "true" or "false"', { parameter: 'dry_run' });
    }
    const report = await registry.collectGarbage({ dryRun: dryRun === 'true' });
    ctx.body = {
      dry_run: report.dryRun,
      blobs: report.blobs.map((blob) => ({ sha256: blob.digest, size: blob.size })),
      young_blobs: report.youngBlobs,
      temp_files: report.tempFiles,
      links: report.links,
      young_links: report.youngLinks,
      foreign_files: report.foreignFiles,
      bytes: report.bytes,
    };
  });
}

export function firmwareUrl(baseUrl: string, name: string, version: string): string {
  return `${baseUrl}/firmware/${encodeURIComponent(name)}/${encodeURIComponent(version)}`;
}
