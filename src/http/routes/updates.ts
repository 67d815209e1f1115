import { createHash } from 'node:crypto';
import type Router from '@koa/router';
import { RegistryError } from '../../errors.js';
import { checkName, checkVersion } from '../../firmware/identifiers.js';
import type { Registry } from '../../registry/registry.js';
import { listMatches, parseEntityTagList, weakMatch } from '../download/entity-tag.js';
import { parseVersionQuery, versionParameter } from '../query-params.js';
import { recordJson } from '../record-json.js';
import { firmwareUrl } from './lifecycle.js';

/**
 * `GET /updates/:name?current=1.2.0[&label=k=v…][&range=…][&prerelease=true]`: "is there
 * something newer for me?" (SPEC §3). 200 with the record and its download URL when a higher
 * matching version exists, 204 when `current` is the newest. The 200 has an ETag of its own
 * (a digest of the answer), so a device polling with If-None-Match gets 304 until the answer
 * changes (RFC 9110 §13.1.2).
 */
export function updateRoutes(router: Router, registry: Registry, baseUrl: string): void {
  router.get('/updates/:name', async (ctx) => {
    const name = checkName(ctx.params.name);
    const current = versionParameter(ctx.query, 'current');
    if (current === undefined) {
      throw new RegistryError('QUERY_INVALID', 'current is the version the device runs: /updates/<name>?current=1.2.0', { parameter: 'current' });
    }
    checkVersion(current);
    const query = parseVersionQuery(ctx.query, { prerelease: false, also: ['current'] });
    if (!(await registry.latest(name, { labels: [], prerelease: true }))) {
      throw new RegistryError('NOT_FOUND', `no version of ${name} is published`, { name });
    }
    ctx.set('Cache-Control', 'no-cache');
    const update = await registry.update(name, current, query);
    if (!update) {
      ctx.status = 204;
      return;
    }
    const body = JSON.stringify({ ...recordJson(update), url: firmwareUrl(baseUrl, update.name, update.version) });
    const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`;
    ctx.set('ETag', etag);
    const ifNoneMatch = ctx.get('If-None-Match');
    if (ifNoneMatch && listMatches(parseEntityTagList(ifNoneMatch), { weak: false, opaque: etag }, weakMatch)) {
      ctx.status = 304;
      return;
    }
    ctx.type = 'application/json';
    ctx.body = body;
  });
}
