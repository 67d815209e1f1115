import fs from 'node:fs';
import path from 'node:path';
import test, { type ExecutionContext, type ImplementationFn } from 'ava';
import { chromium, type Browser, type BrowserContextOptions, type Page } from 'playwright-core';
import { packageFile } from '../../src/package-file.js';

/** Debian's chromium, driven by playwright-core (which downloads no browser of its own). */
export const CHROMIUM = '/usr/bin/chromium';

const missing = fs.existsSync(CHROMIUM) ? undefined : `${CHROMIUM} is missing (apt-get install chromium)`;
if (missing) console.warn(`browser tests are skipped: ${missing}`);

/**
 * A browser test, run one after another (each drives the same browser; the machine is small),
 * or reported as skipped with the reason in its title when chromium is not installed.
 */
export function browserTest(title: string, implementation: ImplementationFn<[]>): void {
  if (missing) test.skip(`${title} (skipped: ${missing})`, implementation);
  else test.serial(title, implementation);
}

/**
 * One headless chromium for a test file, closed when the file ends. `registry.test` resolves to
 * the loopback address: a page opened there is not a secure context, as on a workshop network.
 */
export function sharedBrowser(): () => Browser {
  let browser: Browser | undefined;
  if (!missing) {
    test.before(async () => {
      browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--host-resolver-rules=MAP registry.test 127.0.0.1'] });
    });
    test.after.always(() => browser?.close());
  }
  return () => {
    if (!browser) throw new Error('the browser did not start');
    return browser;
  };
}

export interface WatchedPage {
  page: Page;
  /** Every URL the page requested. */
  requests: string[];
  /**
   * Chromium writes "Failed to load resource" to the console for every answer of 400 or more,
   * even those the page expects and handles (the probe of a publish by digest, a refused
   * write). Such answers, and their console lines, are allowed only where the test names them.
   */
  expectRefusal(method: string, pathname: string, status: number): void;
  /** Fails the test on any console error, uncaught exception, dialog (alert) or unexpected refusal so far. */
  assertClean(): void;
}

/**
 * A fresh page in its own context (its own storage), watched for console errors, uncaught
 * exceptions, dialogs and requests; closed when the test ends.
 */
export async function openPage(t: ExecutionContext, browser: Browser, options: BrowserContextOptions = {}): Promise<WatchedPage> {
  const context = await browser.newContext({ viewport: { width: 1200, height: 760 }, acceptDownloads: true, ...options });
  t.teardown(() => context.close());
  const page = await context.newPage();
  const problems: string[] = [];
  const requests: string[] = [];
  const allowed: string[] = [];
  const refused: string[] = [];
  page.on('request', (request) => requests.push(request.url()));
  page.on('response', (response) => {
    if (response.status() >= 400) refused.push(`${response.request().method()} ${new URL(response.url()).pathname} ${response.status()}`);
  });
  page.on('console', (message) => {
    if (message.type() !== 'error') return;
    const failed = /^Failed to load resource: the server responded with a status of (\d+)/.exec(message.text());
    // The line names the URL and status, not the method: the answers themselves are checked below.
    if (failed && allowed.some((entry) => entry.endsWith(` ${new URL(message.location().url).pathname} ${failed[1]}`))) return;
    problems.push(`console error: ${message.text()} (${message.location().url})`);
  });
  page.on('pageerror', (error) => problems.push(`uncaught: ${error.message}`));
  page.on('dialog', (dialog) => {
    problems.push(`dialog: ${dialog.type()} ${dialog.message()}`);
    void dialog.dismiss();
  });
  return {
    page,
    requests,
    expectRefusal: (method, pathname, status) => void allowed.push(`${method} ${pathname} ${status}`),
    assertClean() {
      t.deepEqual(problems, [], 'no console errors, exceptions or dialogs');
      t.deepEqual(refused.filter((entry) => !allowed.includes(entry)), [], 'no refusal the test did not expect');
      const origin = requests[0] === undefined ? '' : new URL(requests[0]).origin;
      t.deepEqual(requests.filter((url) => new URL(url).origin !== origin), [], 'every request goes to the registry');
    },
  };
}

/** Waits until the page shows the view of its current URL (main says which URL it rendered). */
export async function viewReady(page: Page): Promise<void> {
  const search = new URL(page.url()).search;
  // A locator, not waitForFunction: that polls with eval, which the page's CSP refuses.
  await page.locator(`#main[data-rendered=${JSON.stringify(search)}]:not([aria-busy])`).waitFor({ state: 'attached' });
}

/** A screenshot kept as a test artifact: test-artifacts/ui/<name>.png. */
export async function screenshot(page: Page, name: string): Promise<string> {
  const file = packageFile(path.join('test-artifacts', 'ui', `${name}.png`));
  await fs.promises.mkdir(path.dirname(file), { recursive: true });
  await page.screenshot({ path: file, fullPage: true });
  return file;
}
