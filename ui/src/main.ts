import { getHealth, getStats, token } from './api.js';
import { describe } from './describe.js';
import { h } from './dom.js';
import { formatBytes } from './format.js';
import { namesView } from './names-view.js';
import { uploadView } from './upload-view.js';
import { versionView } from './version-view.js';
import { readState, writeState, type ViewState } from './view-state.js';
import { versionsView } from './versions-view.js';

/**
 * The page: a header with the registry's health, what deduplication saves and the write token;
 * below it one view, chosen by the URL (view-state.ts). Links inside the page change the URL
 * without a reload; the back button and shared links show the same view.
 */
const main = document.getElementById('main')!;
const health = document.getElementById('health')!;
const savings = document.getElementById('savings')!;

let rendering = 0;
async function render(): Promise<void> {
  const search = location.search;
  const mine = ++rendering;
  main.setAttribute('aria-busy', 'true');
  let view: HTMLElement;
  try {
    view = await viewFor(readState(search));
  } catch (error) {
    view = h('p', { class: 'status error', role: 'alert' }, describe(error));
  }
  // A newer navigation has started meanwhile: its view is the one to show.
  if (mine !== rendering) return;
  main.replaceChildren(view);
  // The tab and the history list name the view.
  const heading = view.querySelector('h1')?.textContent;
  document.title = heading ? `${heading} · SPORE Registry` : 'SPORE Registry';
  // Which URL the content shows (scripts and tests wait for it).
  main.dataset.rendered = search;
  main.removeAttribute('aria-busy');
}

function viewFor(state: ViewState): Promise<HTMLElement> {
  switch (state.view) {
    case 'names':
      return namesView(state.search, (search) => history.replaceState(null, '', writeState({ view: 'names', search }) || './'));
    case 'versions':
      return versionsView(state, go);
    case 'version':
      return versionView(state.name, state.version, go, refreshHeader);
    case 'upload':
      return Promise.resolve(uploadView(state.name, refreshHeader));
  }
}

function go(state: ViewState): void {
  history.pushState(null, '', writeState(state) || './');
  void render();
}

async function refreshHeader(): Promise<void> {
  const [stats, status] = await Promise.allSettled([getStats(), getHealth()]);
  if (status.status === 'fulfilled') {
    health.textContent = `Healthy · ${status.value.versions} versions`;
    health.className = 'pill ok';
  } else {
    health.textContent = `Unhealthy: ${status.reason instanceof Error ? status.reason.message : String(status.reason)}`;
    health.className = 'pill error';
  }
  if (stats.status === 'fulfilled') {
    const { logical_bytes: logical, saved_bytes: saved, versions, blobs } = stats.value;
    const percent = logical === 0 ? 0 : Math.round((saved / logical) * 100);
    savings.textContent = `Deduplication saves ${formatBytes(saved)} (${percent}%): ${versions} versions in ${blobs} blobs`;
  }
}

function tokenControl(): void {
  const field = document.getElementById('token') as HTMLInputElement;
  const state = document.getElementById('token-state')!;
  const forget = document.getElementById('token-forget') as HTMLButtonElement;
  const show = () => {
    const set = token.get() !== null;
    state.textContent = set ? 'Token set for this tab' : 'No write token';
    forget.hidden = !set;
  };
  document.getElementById('token-form')!.addEventListener('submit', (event) => {
    event.preventDefault();
    if (field.value) token.set(field.value);
    field.value = '';
    show();
  });
  forget.addEventListener('click', () => {
    token.clear();
    show();
  });
  show();
}

// Links marked data-nav stay in the page; a modified click (new tab) is the browser's.
document.addEventListener('click', (event) => {
  const link = (event.target as Element | null)?.closest?.('a[data-nav]') as HTMLAnchorElement | null;
  if (!link || event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  event.preventDefault();
  history.pushState(null, '', link.href);
  void render();
});
window.addEventListener('popstate', () => void render());

tokenControl();
void refreshHeader();
void render();
