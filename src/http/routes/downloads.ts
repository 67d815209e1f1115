import type Router from '@koa/router';
import type { Context } from 'koa';
import { isDigest } from '../../digest.js';
import { isRegistryError, RegistryError } from '../../errors.js';
import { checkName, checkVersion } from '../../firmware/identifiers.js';
import type { Downloads } from '../download/downloads.js';
import type { Representation } from '../download/representation.js';

/**
 * `GET|HEAD /firmware/:name/:version` and `GET|HEAD /blobs/sha256/:hex` (SPEC §4). Requests
 * for published things are usually answered by the fast path before koa (see fast-path.ts);
 * these routes answer the rest with the same `Downloads`, and give other methods their 405.
 */
export function downloadRoutes(router: Router, downloads: Downloads): void {
  router.get('/firmware/:name/:version', async (ctx) => {
    const name = checkName(ctx.params.name);
    const version = checkVersion(ctx.params.version);
    const representation = await downloads.version(name, version, ctx.path);
    if (!representation) {
      throw new RegistryError('NOT_FOUND', `firmware ${name} ${version} is not published`, { name, version });
    }
    await answer(ctx, downloads, representation);
  });

  router.get('/blobs/sha256/:hex', async (ctx) => {
    const digest = `sha256:${ctx.params.hex}`;
    if (!isDigest(digest)) {
      throw new RegistryError('DIGEST_INVALID', 'a blob URL is /blobs/sha256/ followed by 64 lower-case hex digits', {
        digest: String(ctx.params.hex).slice(0, 80),
      });
    }
    const representation = await downloads.blob(digest, ctx.path);
    if (!representation) throw new RegistryError('BLOB_UNKNOWN', `no blob ${digest} in the registry`, { digest });
    await answer(ctx, downloads, representation);
  });
}

async function answer(ctx: Context, downloads: Downloads, representation: Representation): Promise<void> {
  ctx.respond = false;
  try {
    ctx.status = await downloads.send(ctx.method as 'GET' | 'HEAD', ctx.headers, ctx.res, representation);
  } catch (error) {
    ctx.respond = true;
    if (isRegistryError(error, 'RANGE_NOT_SATISFIABLE')) ctx.set('Content-Range', String(error.details.contentRange));
    throw error;
  }
}
