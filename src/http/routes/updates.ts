import type { ServerResponse } from 'node:http';
import type Router from '@koa/router';
import { RegistryError } from '../../errors.js';
import { checkName, checkVersion } from '../../firmware/identifiers.js';
import type { Registry } from '../../registry/registry.js';
import { parseVersionQuery, versionParameter } from '../query-params.js';
import { noneMatch, updateAnswer } from '../updates/update-answer.js';
import { rememberedAnswer, type UpdateAnswers } from '../updates/update-answers.js';

/**
 * `GET /updates/:name?current=1.2.0[&label=k=v…][&range=…][&prerelease=true]`: "is there
 * something newer for me?" (SPEC §3). 200 with the record and its download URL when a higher
 * matching version exists, 204 when `current` is the newest. The 200 has an ETag of its own
 * (a digest of the answer), so a device polling with If-None-Match gets 304 until the answer
 * changes (RFC 9110 §13.1.2).
 *
 * Every answer given is remembered by its request URL in `answers`, which the update fast path
 * sends again until the registry changes (see update-fast-path.ts); errors are not.
 */
export function updateRoutes(router: Router, registry: Registry, baseUrl: string, answers: UpdateAnswers): void {
  router.get('/updates/:name', async (ctx) => {
    const changes = registry.changes;
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
    const answer = updateAnswer(await registry.update(name, current, query), baseUrl);
    // A request with an Origin gets CORS headers for its origin: not for anyone else's answer.
    if (ctx.get('Origin') === '') answers.remember(ctx.url, rememberedAnswer(answer, precedingHeaders(ctx.res)), changes);
    if (answer.status === 204) {
      ctx.set(answer.headers);
      ctx.status = 204;
    } else if (noneMatch(ctx.get('If-None-Match'), answer.etag)) {
      ctx.set(answer.notModified);
      ctx.status = 304;
    } else {
      ctx.set(answer.headers);
      ctx.body = answer.body;
    }
  });
}

/**
 * What the middleware before the route set, as it goes out: names in their own case, in order.
 * (getRawHeaderNames is OutgoingMessage's, so a ServerResponse's too; @types/node declares it
 * on ClientRequest only.)
 */
function precedingHeaders(res: ServerResponse) {
  const preceding: [string, string | string[] | number][] = [];
  for (const name of (res as ServerResponse & { getRawHeaderNames(): string[] }).getRawHeaderNames()) {
    const value = res.getHeader(name);
    if (name.toLowerCase() !== 'x-request-id' && value !== undefined) preceding.push([name, value]);
  }
  return preceding;
}
