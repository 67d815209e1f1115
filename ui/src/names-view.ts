import { listFirmware, type FirmwareRecord } from './api.js';
import { h, navLink } from './dom.js';
import { isPrerelease } from './format.js';
import { versionsOf, writeState } from './view-state.js';

interface NameSummary {
  name: string;
  release?: string;
  /** The highest pre-release above the latest release (an older one is history, not news). */
  prerelease?: string;
  versions: number;
}

/** Records come sorted by name, then SemVer precedence, highest first (SPEC §3). */
function summarize(records: FirmwareRecord[]): NameSummary[] {
  const names = new Map<string, NameSummary>();
  for (const record of records) {
    let summary = names.get(record.name);
    if (!summary) names.set(record.name, (summary = { name: record.name, versions: 0 }));
    summary.versions++;
    if (isPrerelease(record.version)) {
      if (!summary.release && !summary.prerelease) summary.prerelease = record.version;
    } else summary.release ??= record.version;
  }
  return [...names.values()];
}

/** Every name with its latest release and pre-release and its number of versions; a search box. */
export async function namesView(search: string, onSearch: (search: string) => void): Promise<HTMLElement> {
  const summaries = summarize(await listFirmware());
  const body = h('tbody');
  const count = h('p', { class: 'count', 'aria-live': 'polite' });
  const show = (text: string) => {
    const needle = text.trim().toLowerCase();
    const shown = summaries.filter((summary) => summary.name.toLowerCase().includes(needle));
    body.replaceChildren(
      ...shown.map((summary) => {
        const versionLink = (version: string | undefined) => (version ? navLink(writeState({ view: 'version', name: summary.name, version }), version) : '—');
        return h(
          'tr',
          {},
          h('th', { scope: 'row' }, navLink(writeState(versionsOf(summary.name)), summary.name)),
          h('td', {}, versionLink(summary.release)),
          h('td', {}, versionLink(summary.prerelease)),
          h('td', { class: 'number' }, summary.versions),
        );
      }),
    );
    count.textContent = summaries.length === 0 ? 'Nothing is published yet.' : `${shown.length} of ${summaries.length} names`;
  };
  const box = h('input', { type: 'search', id: 'name-search', value: search, placeholder: 'Name contains…', autocomplete: 'off' });
  box.addEventListener('input', () => {
    show(box.value);
    onSearch(box.value);
  });
  show(search);
  return h(
    'section',
    { 'aria-labelledby': 'names-heading' },
    h('div', { class: 'heading-row' }, h('h1', { id: 'names-heading' }, 'Firmware'), navLink(writeState({ view: 'upload', name: '' }), 'Upload a version')),
    h('div', { class: 'search' }, h('label', { for: 'name-search' }, 'Search names'), box),
    count,
    h(
      'div',
      { class: 'table-scroll' },
      h(
        'table',
        { class: 'names' },
        h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Name'), h('th', { scope: 'col' }, 'Latest release'), h('th', { scope: 'col' }, 'Newer pre-release'), h('th', { scope: 'col' }, 'Versions'))),
        body,
      ),
    ),
  );
}
