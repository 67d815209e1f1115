import { gunzipSync } from 'node:zlib';
import test from 'ava';
import { UI_CONTENT_SECURITY_POLICY } from '../../src/http/routes/ui.js';
import { request } from '../helpers/http.js';
import { startRegistry } from '../helpers/registry-server.js';
import { buildUi } from '../helpers/ui-build.js';

buildUi();

const BROWSER_ACCEPT = 'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8';

test('ui: a browser asking for / is sent to ui/; API clients get the answer / always had', async (t) => {
  const registry = await startRegistry(t);
  const browser = await registry.get('/', { Accept: BROWSER_ACCEPT });
  t.is(browser.status, 302);
  t.is(browser.headers.location, 'ui/');
  t.regex(String(browser.headers.vary), /Accept/);

  for (const accept of [undefined, '*/*', 'application/json', 'application/json, text/html;q=0.5']) {
    const answer = await registry.get('/', accept ? { Accept: accept } : {});
    t.is(answer.status, 404, `Accept: ${accept}`);
    t.is(answer.json().error.code, 'NOT_FOUND');
  }
  const post = await request(`${registry.url}/`, { method: 'POST', headers: { Accept: BROWSER_ACCEPT } });
  t.is(post.status, 404, 'only GET and HEAD are redirected');

  const bare = await registry.get('/ui');
  t.is(bare.status, 302);
  t.is(bare.headers.location, 'ui/', '/ui → /ui/, where the relative asset URLs resolve');
});

test('ui: the page is served with a strict CSP, nosniff and an ETag that revalidates', async (t) => {
  const registry = await startRegistry(t);
  const page = await registry.get('/ui/');
  t.is(page.status, 200);
  t.is(page.headers['content-type'], 'text/html; charset=utf-8');
  t.is(page.headers['content-security-policy'], UI_CONTENT_SECURITY_POLICY);
  t.regex(UI_CONTENT_SECURITY_POLICY, /script-src 'self'(;|$)/, 'no inline script');
  t.regex(UI_CONTENT_SECURITY_POLICY, /frame-ancestors 'none'/);
  t.is(page.headers['x-content-type-options'], 'nosniff');
  t.is(page.headers['cache-control'], 'no-cache');
  t.notRegex(page.body.toString(), /<script(?![^>]*\bsrc=)/, 'every script has a src: nothing inline');
  t.notRegex(page.body.toString(), /(src|href)="(https?:)?\/\//, 'nothing from another host');

  const again = await registry.get('/ui/', { 'If-None-Match': String(page.headers.etag) });
  t.is(again.status, 304);
  t.is(again.body.length, 0);
  t.is((await registry.get('/ui/?name=base&label=channel%3Dstable')).status, 200, 'a shared link with a query is the same page');
});

test('ui: assets have their types, are gzipped on request, and nothing outside them is served', async (t) => {
  const registry = await startRegistry(t);
  const script = await registry.get('/ui/assets/main.js');
  t.is(script.status, 200);
  t.is(script.headers['content-type'], 'text/javascript; charset=utf-8');
  t.is(script.headers['content-security-policy'], UI_CONTENT_SECURITY_POLICY);
  t.is(script.headers['x-content-type-options'], 'nosniff');
  t.is((await registry.get('/ui/assets/style.css')).headers['content-type'], 'text/css; charset=utf-8');
  t.is((await registry.get('/ui/assets/icon.svg')).headers['content-type'], 'image/svg+xml');

  const zipped = await registry.get('/ui/assets/main.js', { 'Accept-Encoding': 'gzip' });
  t.is(zipped.headers['content-encoding'], 'gzip');
  t.regex(String(zipped.headers.vary), /Accept-Encoding/);
  t.not(zipped.headers.etag, script.headers.etag, 'each encoding has its own strong ETag');
  t.deepEqual(gunzipSync(zipped.body), script.body);

  for (const path of ['/ui/assets/nope.js', '/ui/assets/..%2F..%2Fpackage.json', '/ui/assets/.tsbuildinfo', '/ui/assets/main.js.map', '/ui/assets/tsconfig.json']) {
    const answer = await registry.get(path);
    t.is(answer.status, 404, path);
    t.is(answer.json().error.code, 'NOT_FOUND', path);
  }
});
