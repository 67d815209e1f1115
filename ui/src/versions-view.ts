import { firmwarePath, apiUrl, listFirmware } from './api.js';
import { labelChips } from './chips.js';
import { copyButton } from './copy.js';
import { h, navLink, statusLine } from './dom.js';
import { formatBytes, formatTime, shortDigest } from './format.js';
import { describe } from './describe.js';
import { writeState, type ViewState } from './view-state.js';

type VersionsState = Extract<ViewState, { view: 'versions' }>;

/**
 * The versions of one name in SemVer order (the registry sorts them), filtered by labels, a
 * SemVer range and pre-release as the URL says; changing a filter changes the URL.
 */
export async function versionsView(state: VersionsState, go: (state: ViewState) => void): Promise<HTMLElement> {
  const status = statusLine();
  const all = await listFirmware({ name: state.name });
  // A filter the registry refuses (a range it cannot read) is shown beside the form, to be fixed there.
  const records = await listFirmware({ name: state.name, labels: state.labels, range: state.range, prerelease: state.prerelease }).catch((error: unknown) => {
    status.show(describe(error), 'error');
    return [];
  });
  const refine = (change: Partial<VersionsState>) => go({ ...state, ...change });
  const addLabel = (filter: string) => {
    if (!state.labels.includes(filter)) refine({ labels: [...state.labels, filter] });
  };

  const labelInput = h('input', { id: 'filter-label', name: 'label', placeholder: 'key=value', autocomplete: 'off' });
  const rangeInput = h('input', { id: 'filter-range', name: 'range', value: state.range, placeholder: '^1.2', autocomplete: 'off' });
  const prereleaseBox = h('input', { id: 'filter-prerelease', type: 'checkbox', checked: state.prerelease });
  const form = h(
    'form',
    { class: 'filters', 'aria-label': 'Filters' },
    h('div', {}, h('label', { for: 'filter-label' }, 'Label'), labelInput),
    h('div', {}, h('label', { for: 'filter-range' }, 'SemVer range'), rangeInput),
    h('div', { class: 'checkbox' }, prereleaseBox, h('label', { for: 'filter-prerelease' }, 'Pre-releases')),
    h('button', { type: 'submit' }, 'Apply'),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const label = labelInput.value.trim();
    refine({ labels: label && !state.labels.includes(label) ? [...state.labels, label] : state.labels, range: rangeInput.value.trim(), prerelease: prereleaseBox.checked });
  });
  const activeFilters = state.labels.map((filter) =>
    h('li', {}, h('button', { type: 'button', class: 'chip removable', title: `Remove the filter ${filter}`, onclick: () => refine({ labels: state.labels.filter((kept) => kept !== filter) }) }, filter, h('span', { 'aria-hidden': 'true' }, ' ×'))),
  );

  const rows = records.map((record) =>
    h(
      'tr',
      {},
      h('th', { scope: 'row' }, navLink(writeState({ view: 'version', name: record.name, version: record.version }), record.version)),
      h('td', { class: 'number', title: `${record.size} bytes` }, formatBytes(record.size)),
      h('td', {}, h('time', { datetime: record.created_at, title: record.created_at }, formatTime(record.created_at))),
      h('td', { class: 'digest' }, h('code', { title: record.sha256 }, shortDigest(record.sha256)), copyButton(record.sha256, `the digest of ${record.version}`)),
      h('td', {}, labelChips(record.labels, addLabel)),
      h('td', {}, h('a', { href: apiUrl(firmwarePath(record.name, record.version)).href, download: `${record.name}-${record.version}.bin` }, 'Download', h('span', { class: 'offscreen' }, ` ${record.version}`))),
    ),
  );
  return h(
    'section',
    { 'aria-labelledby': 'versions-heading' },
    h('p', { class: 'crumbs' }, navLink('', 'Firmware'), ' / '),
    h('div', { class: 'heading-row' }, h('h1', { id: 'versions-heading' }, state.name), navLink(writeState({ view: 'upload', name: state.name }), `Upload a version of ${state.name}`)),
    form,
    activeFilters.length > 0 ? h('ul', { class: 'chips active-filters', 'aria-label': 'Label filters' }, activeFilters) : null,
    status,
    h('p', { class: 'count' }, `${records.length} of ${all.length} versions`),
    h(
      'div',
      { class: 'table-scroll' },
      h(
        'table',
        { class: 'versions' },
        h('thead', {}, h('tr', {}, ['Version', 'Size', 'Published', 'Digest', 'Labels', 'File'].map((title) => h('th', { scope: 'col' }, title)))),
        h('tbody', {}, rows),
      ),
    ),
  );
}
