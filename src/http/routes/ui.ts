import type Router from '@koa/router';
import type { Context, Middleware } from 'koa';
import { RegistryError } from '../../errors.js';
import { packageFile } from '../../package-file.js';
import { loadUiAssets, type UiAsset } from '../ui-assets.js';

/**
 * The page runs only the registry's own scripts and styles and talks only to the registry;
 * it cannot be framed (clickjacking a withdraw button), and a label that slips into markup
 * could not run a script anyway. `img-src 'self'` is for the icon.
 */
export const UI_CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * `GET /ui/` (the web page) and `GET /ui/assets/<file>` (its modules, style sheet and icon),
 * every byte from the registry itself: devices' networks are often offline. Answers are
 * revalidated (`no-cache` with a strong ETag, 304 on a match: RFC 9110 §13.1.2), since the
 * file names do not change between releases; gzipped when the client accepts it.
 */
export function uiRoutes(router: Router): void {
  let assets: Map<string, UiAsset> | undefined;
  const assetNamed = (name: string): UiAsset => {
    // Read at the first request, not at start-up: most servers never serve the page.
    assets ??= loadUiAssets(packageFile('ui/static'), packageFile('dist/ui'));
    if (!assets) throw new RegistryError('UNAVAILABLE', 'the web page is not built: run `npm run build`');
    const asset = assets.get(name);
    if (!asset) throw new RegistryError('NOT_FOUND', `the web page has no file ${name}`, { file: name });
    return asset;
  };

  router.get('/ui/', (ctx) => send(ctx, assetNamed('index.html')));
  // The page's relative URLs (assets/…, ../firmware) need the slash. (This pattern matches /ui/
  // too, which the route above has answered.)
  router.get('/ui', (ctx) => redirect(ctx, 'ui/'));
  router.get('/ui/assets/:file', (ctx) => send(ctx, assetNamed(ctx.params.file ?? '')));
}

/**
 * A browser asking for `/` (its Accept prefers HTML) is sent to the page; anything else asking
 * for `/` gets the answer it always had. Both vary with Accept (RFC 9110 §12.5.5).
 */
export function redirectBrowsersToUi(): Middleware {
  return async (ctx, next) => {
    if (ctx.path !== '/' || (ctx.method !== 'GET' && ctx.method !== 'HEAD')) return next();
    ctx.vary('Accept');
    if (ctx.accepts('application/json', 'text/html') === 'text/html') return redirect(ctx, 'ui/');
    return next();
  };
}

/** A relative Location (RFC 9110 §10.2.2), so the page works behind a proxy that adds a path prefix. */
function redirect(ctx: Context, location: string): void {
  ctx.status = 302;
  ctx.set('Location', location);
  ctx.set('Cache-Control', 'no-cache');
  ctx.body = { url: location };
}

function send(ctx: Context, asset: UiAsset): void {
  const gzip = ctx.acceptsEncodings('gzip', 'identity') === 'gzip';
  ctx.set('Content-Security-Policy', UI_CONTENT_SECURITY_POLICY);
  ctx.set('X-Content-Type-Options', 'nosniff');
  ctx.set('Referrer-Policy', 'no-referrer');
  ctx.set('Cache-Control', 'no-cache');
  ctx.vary('Accept-Encoding');
  ctx.set('ETag', gzip ? asset.gzipEtag : asset.etag);
  ctx.type = asset.type;
  ctx.status = 200; // koa judges freshness of successful answers only
  if (ctx.fresh) {
    ctx.status = 304;
    return;
  }
  if (gzip) ctx.set('Content-Encoding', 'gzip');
  ctx.body = gzip ? asset.gzip : asset.body;
}
