import fs from 'node:fs/promises';
import { createRequire } from 'node:module';
import { gzipSync } from 'node:zlib';
import type { ExecutionContext } from 'ava';
import type { Page } from 'playwright-core';
import { browserTest, openPage, screenshot, sharedBrowser, viewReady } from '../helpers/browser.js';
import { firmwareBytes, sha256 } from '../helpers/fixtures.js';
import { firmwareUpload } from '../helpers/multipart.js';
import { startRegistry, type TestRegistry } from '../helpers/registry-server.js';
import { buildUi } from '../helpers/ui-build.js';

buildUi();
const browser = sharedBrowser();

const TOKEN = 'ui-test-token-5f0c2e91';
const AUTH = { Authorization: `Bearer ${TOKEN}` };

/** A registry with a few names, as a page would find it: releases, pre-releases, shared builds. */
async function seeded(t: ExecutionContext, env: Record<string, string> = {}): Promise<TestRegistry> {
  const registry = await startRegistry(t, env);
  const builds = [firmwareBytes(180_000), firmwareBytes(240_000), firmwareBytes(96_000)];
  const versions: [string, string, Record<string, string>, number][] = [
    ['base', '1.0.0', { channel: 'stable', hw: 'esp32' }, 0],
    ['base', '1.1.0', { channel: 'stable', hw: 'esp32' }, 0],
    ['base', '1.2.0-beta.1', { channel: 'beta', hw: 'esp32' }, 1],
    ['base', '2.0.0-rc.1', { channel: 'beta', hw: 'esp8266' }, 1],
    ['gateway', '0.3.1', { channel: 'stable' }, 2],
    ['sensor', '1.3.0', { channel: 'stable', hw: 'esp32' }, 2],
  ];
  for (const [name, version, labels, build] of versions) {
    const answer = await registry.post(firmwareUpload({ name, version, labels }, builds[build]!), AUTH);
    t.is(answer.status, 201, `${name} ${version}: ${answer.body.toString()}`);
  }
  return registry;
}

/** Drops a file on an element as a user dragging it from a file manager would. */
async function dropFile(page: Page, selector: string, bytes: Buffer, name: string): Promise<void> {
  const dataTransfer = await page.evaluateHandle(
    // Runs in the page; this program is compiled without the DOM's types.
    ({ base64, fileName }) => {
      const scope = globalThis as any;
      const transfer = new scope.DataTransfer();
      transfer.items.add(new scope.File([Uint8Array.from(scope.atob(base64), (char: string) => char.charCodeAt(0))], fileName));
      return transfer;
    },
    { base64: bytes.toString('base64'), fileName: name },
  );
  await page.dispatchEvent(selector, 'drop', { dataTransfer });
}

/** The versions listed in the versions table, top to bottom. */
const listedVersions = (page: Page) => page.locator('table.versions tbody th').allTextContents();

async function records(registry: TestRegistry, query: string): Promise<{ version: string; sha256: string; labels: Record<string, string> }[]> {
  return (await registry.get(`/firmware?${query}`)).json();
}

browserTest('ui: upload with progress to 100%, find by label, promote, download byte for byte, withdraw; the token stays in the tab', async (t) => {
  const registry = await seeded(t, { REGISTRY_TOKENS: TOKEN });
  const { page, requests, expectRefusal, assertClean } = await openPage(t, browser(), { permissions: ['clipboard-read', 'clipboard-write'] });

  // 1. A browser asking for / lands on the page.
  await page.goto(`${registry.url}/`);
  t.is(new URL(page.url()).pathname, '/ui/');
  await viewReady(page);
  await page.getByText('Healthy · 6 versions').waitFor();
  await page.getByText(/Deduplication saves 504 KiB \(50%\): 6 versions in 3 blobs/).waitFor();

  // 2. Upload without a token: the registry's refusal is shown as it said it.
  await page.getByRole('link', { name: 'Upload a version' }).click();
  const bytes = firmwareBytes(6 * 1024 * 1024 + 13);
  await page.setInputFiles('#upload-file', { name: 'sensor.bin', mimeType: 'application/octet-stream', buffer: bytes });
  await page.fill('#upload-name', 'sensor');
  await page.fill('#upload-version', '1.4.0');
  await page.fill('#upload-labels', 'channel=beta\nhw=esp32');
  expectRefusal('POST', '/firmware', 401);
  await page.getByRole('button', { name: 'Publish' }).click();
  const refusal = (await registry.post(firmwareUpload({ name: 'sensor', version: '1.4.0' }, bytes))).json().error;
  await page.locator('.status.error', { hasText: `Refused (UNAUTHORIZED): ${refusal.message}` }).waitFor();

  // 3. With the token typed once, the upload goes through: the probe by digest misses (404),
  // the bytes follow with a progress bar that ends at 100%.
  await page.fill('#token', TOKEN);
  await page.getByRole('button', { name: 'Use token' }).click();
  await page.getByText('Token set for this tab').waitFor();
  // Expressions as strings run in the page (this program is compiled without the DOM's types).
  t.deepEqual(await page.evaluate(`[sessionStorage.getItem('spore-registry-token'), localStorage.length]`), [TOKEN, 0]);
  await page.evaluate(`{
    const seen = (window.progressSeen = []);
    const text = document.querySelector('.progress-text');
    new MutationObserver(() => seen.push(text.textContent)).observe(text, { childList: true, characterData: true, subtree: true });
  }`);
  expectRefusal('POST', '/firmware', 404);
  await page.getByRole('button', { name: 'Publish' }).click();
  await page.locator('.status.ok', { hasText: 'Published sensor 1.4.0' }).waitFor();
  t.is(await page.locator('#upload-progress').getAttribute('value'), '100');
  const seen = (await page.evaluate('window.progressSeen')) as string[];
  t.true(seen.some((line) => line.startsWith('Uploading…')), `upload progress was shown: ${seen.join(' | ')}`);
  t.is(seen.at(-1), 'Uploaded 100%');
  const [published] = await records(registry, 'name=sensor&version=1.4.0');
  t.is(published?.sha256, sha256(bytes), 'the page declared the digest the registry computed');
  t.deepEqual(published?.labels, { channel: 'beta', hw: 'esp32' });
  await screenshot(page, 'upload-done');

  // 4. Found with a label filter, reflected in the URL.
  await page.getByRole('link', { name: 'SPORE Registry' }).click();
  await viewReady(page);
  await page.getByText('Healthy · 7 versions').waitFor();
  await page.getByRole('link', { name: 'sensor', exact: true }).click();
  await viewReady(page);
  t.deepEqual(await listedVersions(page), ['1.4.0', '1.3.0']);
  await page.fill('#filter-label', 'channel=beta');
  await page.getByRole('button', { name: 'Apply' }).click();
  await page.waitForURL(/label=channel%3Dbeta/);
  await viewReady(page);
  t.deepEqual(await listedVersions(page), ['1.4.0']);
  await screenshot(page, 'versions-filtered');

  // 5. The version: commands, digest copied whole, download compared byte for byte.
  await page.getByRole('link', { name: '1.4.0', exact: true }).click();
  await viewReady(page);
  await page.getByRole('heading', { name: 'sensor 1.4.0' }).waitFor();
  t.is(await page.locator('.command code').first().textContent(), `curl -fo sensor-1.4.0.bin ${registry.url}/firmware/sensor/1.4.0`);
  t.is(await page.locator('.command code').nth(1).textContent(), `spore-registry pull sensor 1.4.0 --url ${registry.url}`);
  await page.getByRole('button', { name: 'Copy the digest' }).click();
  t.is(await page.evaluate('navigator.clipboard.readText()'), sha256(bytes));
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Download sensor-1.4.0.bin' }).click()]);
  t.is(download.suggestedFilename(), 'sensor-1.4.0.bin');
  t.true(bytes.equals(await fs.readFile(await download.path())), 'the downloaded file is the uploaded one');

  // 6. Promote: the labels are replaced.
  await page.fill('#promote-labels', 'channel=stable\nhw=esp32');
  await page.getByRole('button', { name: 'Save labels' }).click();
  await page.locator('.status.ok', { hasText: 'Labels of sensor 1.4.0 saved.' }).waitFor();
  t.deepEqual((await records(registry, 'name=sensor&version=1.4.0'))[0]?.labels, { channel: 'stable', hw: 'esp32' });
  t.deepEqual(await page.locator('.facts .chip-value').allTextContents(), ['stable', 'esp32']);

  // 7. Withdraw, after a confirmation that names the version.
  await page.getByRole('button', { name: 'Withdraw…' }).click();
  const dialog = page.locator('dialog[open]');
  await dialog.getByText('Withdraw sensor 1.4.0?').waitFor();
  await dialog.getByRole('button', { name: 'Withdraw sensor 1.4.0' }).click();
  await page.waitForURL((url) => url.search === '?name=sensor');
  await viewReady(page);
  t.deepEqual(await listedVersions(page), ['1.3.0']);
  t.deepEqual(await records(registry, 'name=sensor&version=1.4.0'), []);

  // 8. The token went only into Authorization headers.
  t.false(JSON.stringify(registry.logs).includes(TOKEN), 'not in the log');
  t.false(requests.some((url) => url.includes(TOKEN)), 'not in any URL');
  t.false(page.url().includes(TOKEN));
  assertClean();
});

browserTest('ui: on plain http (no Web Crypto) the page hashes in JavaScript; bytes the registry has are published by digest', async (t) => {
  const registry = await startRegistry(t);
  const known = firmwareBytes(300_000);
  t.is((await registry.publish({ name: 'other', version: '1.0.0' }, known)).status, 201);
  const { page, expectRefusal, assertClean } = await openPage(t, browser());
  // registry.test resolves to the loopback address but, unlike 127.0.0.1, is not a secure context.
  await page.goto(`${registry.url.replace('127.0.0.1', 'registry.test')}/ui/?upload=&name=other`);
  t.deepEqual(await page.evaluate('[window.isSecureContext, typeof crypto.subtle]'), [false, 'undefined']);

  const publish = async (file: Buffer, version: string) => {
    await dropFile(page, '.drop', file, 'other.bin');
    await page.getByText(/^other\.bin \(/).waitFor();
    await page.fill('#upload-version', version);
    await page.getByRole('button', { name: 'Publish' }).click();
    await page.locator('.status.ok', { hasText: `Published other ${version}` }).waitFor();
    return page.locator('.status.ok').textContent();
  };
  // Known bytes: no 404 probe (assertClean would name it), nothing sent.
  t.regex(String(await publish(known, '1.0.1')), /none were sent/);
  // New bytes across two hashing chunks (4 MiB), of an odd length: the declared digest, hashed in
  // JavaScript, must equal the registry's or the upload is refused (422).
  const fresh = firmwareBytes(4 * 1024 * 1024 + 4099);
  expectRefusal('POST', '/firmware', 404);
  t.regex(String(await publish(fresh, '1.1.0')), /: uploaded\./);
  t.is((await records(registry, 'name=other&version=1.1.0'))[0]?.sha256, sha256(fresh));
  t.is((await records(registry, 'name=other&version=1.0.1'))[0]?.sha256, sha256(known));
  assertClean();
});

browserTest('ui: a shared link opens the same filtered view; back and forth follow the URL', async (t) => {
  const registry = await seeded(t);
  const { page, expectRefusal, assertClean } = await openPage(t, browser());
  const shared = '?name=base&label=hw%3Desp32&range=%5E1.1&prerelease=false';
  await page.goto(`${registry.url}/ui/${shared}`);
  await viewReady(page);
  t.deepEqual(await listedVersions(page), ['1.1.0']);
  t.deepEqual(await listedVersions(page), (await records(registry, shared.slice(1))).map((record) => record.version), 'as the API answers the same filters');
  t.is(await page.title(), 'base · SPORE Registry');
  t.is(await page.inputValue('#filter-range'), '^1.1');
  t.false(await page.isChecked('#filter-prerelease'));
  t.deepEqual(await page.locator('.active-filters button').allTextContents(), ['hw=esp32 ×']);

  await page.check('#filter-prerelease');
  await page.getByRole('button', { name: 'Apply' }).click();
  await page.waitForURL((url) => !url.search.includes('prerelease'));
  await viewReady(page);
  t.deepEqual(await listedVersions(page), ['1.2.0-beta.1', '1.1.0']);

  await page.goBack();
  await page.waitForURL((url) => url.search === shared);
  await viewReady(page);
  t.deepEqual(await listedVersions(page), ['1.1.0']);

  // A filter the registry refuses is shown with its message, beside the form that fixes it.
  expectRefusal('GET', '/firmware', 400);
  await page.fill('#filter-range', 'not a range');
  await page.getByRole('button', { name: 'Apply' }).click();
  await page.locator('.status.error', { hasText: 'Refused (QUERY_INVALID)' }).waitFor();
  t.deepEqual(await listedVersions(page), []);
  await page.fill('#filter-range', '^1.1');
  await page.getByRole('button', { name: 'Apply' }).click();
  await page.waitForURL((url) => url.search === shared);
  await viewReady(page);

  // A label chip in the table adds its filter.
  await page.locator('table.versions').getByRole('button', { name: /channel\s*stable/ }).click();
  await page.waitForURL(/label=channel%3Dstable/);
  await viewReady(page);
  t.deepEqual(await listedVersions(page), ['1.1.0']);

  // The name search is in the URL too.
  await page.goto(`${registry.url}/ui/?q=GATE`);
  await viewReady(page);
  t.deepEqual(await page.locator('table.names tbody th').allTextContents(), ['gateway']);
  await page.fill('#name-search', 'se');
  await page.waitForURL(/\?q=se$/);
  t.deepEqual(await page.locator('table.names tbody th').allTextContents(), ['base', 'sensor']);
  assertClean();
});

browserTest('ui: hostile label values are shown as text and run nothing', async (t) => {
  const registry = await startRegistry(t);
  const hostile = {
    img: '<img src=x onerror=alert(1)>',
    script: '"><script>alert(2)</script>',
    link: 'javascript:alert(3)',
    template: '{{constructor.constructor("alert(4)")()}}',
    entity: '&lt;b&gt;bold&lt;/b&gt;',
  };
  t.is((await registry.publish({ name: 'evil', version: '1.0.0', labels: hostile }, firmwareBytes())).status, 201);
  const { page, assertClean } = await openPage(t, browser());
  // The registry lists labels sorted by key.
  const sorted = Object.entries(hostile).sort(([a], [b]) => (a < b ? -1 : 1));
  for (const view of ['?name=evil', '?name=evil&version=1.0.0']) {
    await page.goto(`${registry.url}/ui/${view}`);
    await viewReady(page);
    t.deepEqual(await page.locator('main .chip-value').allTextContents(), sorted.map(([, value]) => value), view);
    t.is(await page.locator('main img, main script, main b').count(), 0, `${view}: no element came from a label`);
  }
  t.is(await page.inputValue('#promote-labels'), sorted.map(([key, value]) => `${key}=${value}`).join('\n'));
  await screenshot(page, 'hostile-labels');

  // Filtering by one of them puts it in the URL, encoded, and shows it as text again.
  await page.goto(`${registry.url}/ui/?name=evil`);
  await viewReady(page);
  await page.locator('table.versions').getByRole('button', { name: /img/ }).click();
  await page.waitForURL((url) => new URL(url).searchParams.get('label') === `img=${hostile.img}`);
  await viewReady(page);
  t.deepEqual(await page.locator('.active-filters button').allTextContents(), [`img=${hostile.img} ×`]);
  t.deepEqual(await listedVersions(page), ['1.0.0']);
  t.is(await page.locator('main img').count(), 0);
  assertClean();
});

browserTest('ui: axe-core finds no serious or critical violation on any view', async (t) => {
  const registry = await seeded(t);
  const { page, assertClean } = await openPage(t, browser());
  // axe is evaluated through the DevTools protocol, which the page's CSP does not govern: the
  // page is checked exactly as it runs, CSP on (a <script> tag, or bypassCSP, would change it).
  const axeSource = await fs.readFile(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
  // Each main view, also kept as a screenshot.
  const views = { names: '', versions: '?name=base', version: '?name=base&version=1.1.0', upload: '?upload=&name=base', 'withdraw-dialog': '?name=base&version=1.1.0' };
  for (const [shot, view] of Object.entries(views)) {
    await page.goto(`${registry.url}/ui/${view}`);
    await viewReady(page);
    if (shot === 'withdraw-dialog') await page.getByRole('button', { name: 'Withdraw…' }).click();
    await screenshot(page, shot);
    await page.evaluate(axeSource);
    const violations = (await page.evaluate(
      `axe.run(document).then((result) => result.violations.map(({ id, impact, nodes }) => ({ id, impact, nodes: nodes.length })))`,
    )) as { id: string; impact: string; nodes: number }[];
    const grave = violations.filter((violation) => violation.impact === 'serious' || violation.impact === 'critical');
    t.deepEqual(grave, [], `${shot}: ${JSON.stringify(grave)}`);
    t.log(`${shot}: ${violations.length === 0 ? 'no violations' : violations.map((violation) => `${violation.id} (${violation.impact})`).join(', ')}`);
  }
  assertClean();
});

browserTest('ui: the first view weighs under 100 KiB gzipped', async (t) => {
  const registry = await seeded(t);
  const { page, assertClean } = await openPage(t, browser());
  const loaded: { url: string; type: string; body: Buffer }[] = [];
  page.on('response', async (response) => {
    const type = String(response.headers()['content-type']);
    if (/html|javascript|css/.test(type)) loaded.push({ url: response.url(), type, body: await response.body() });
  });
  await page.goto(`${registry.url}/ui/`);
  await viewReady(page);
  const raw = loaded.reduce((sum, file) => sum + file.body.length, 0);
  const gzipped = loaded.reduce((sum, file) => sum + gzipSync(file.body, { level: 9 }).length, 0);
  t.log(`first view: ${loaded.length} files of HTML, JS and CSS, ${(raw / 1024).toFixed(1)} KiB, ${(gzipped / 1024).toFixed(1)} KiB gzipped`);
  t.true(loaded.some((file) => file.type.startsWith('text/html')) && loaded.some((file) => file.type.startsWith('text/css')));
  t.true(loaded.filter((file) => file.type.startsWith('text/javascript')).length >= 5, 'the modules are counted');
  t.true(gzipped < 100 * 1024, `${gzipped} bytes gzipped`);
  assertClean();
});
