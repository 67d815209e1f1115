import { apiUrl, firmwarePath, listFirmware, registryRoot, relabel, withdraw, type FirmwareRecord } from './api.js';
import { labelChips } from './chips.js';
import { commandLine, copyButton } from './copy.js';
import { h, navLink, statusLine } from './dom.js';
import { describe } from './describe.js';
import { formatBytes, formatTime, labelLines, parseLabels, shellWord } from './format.js';
import { versionsOf, writeState, type ViewState } from './view-state.js';

/** One version: its facts, download link and commands; promote (edit labels) and withdraw. */
export async function versionView(name: string, version: string, go: (state: ViewState) => void, changed: () => void): Promise<HTMLElement> {
  const [record] = await listFirmware({ name, version });
  const crumbs = h('p', { class: 'crumbs' }, navLink('', 'Firmware'), ' / ', navLink(writeState(versionsOf(name)), name), ' / ');
  if (!record) {
    return h('section', { 'aria-labelledby': 'version-heading' }, crumbs, h('h1', { id: 'version-heading' }, `${name} ${version}`), h('p', { class: 'status error' }, 'This version is not published (or was withdrawn).'));
  }
  const download = apiUrl(firmwarePath(name, version)).href;
  const registryUrl = registryRoot.href.replace(/\/$/, '');
  const file = `${name}-${version}.bin`;
  const chips = h('div', {}, labelChips(record.labels));
  const facts = h(
    'dl',
    { class: 'facts' },
    h('dt', {}, 'Size'),
    h('dd', {}, `${formatBytes(record.size)} (${record.size.toLocaleString('en')} bytes)`),
    h('dt', {}, 'Published'),
    h('dd', {}, h('time', { datetime: record.created_at }, formatTime(record.created_at))),
    h('dt', {}, 'Digest'),
    h('dd', { class: 'digest' }, h('code', {}, record.sha256), copyButton(record.sha256, 'the digest')),
    h('dt', {}, 'Labels'),
    h('dd', {}, chips),
  );
  return h(
    'section',
    { 'aria-labelledby': 'version-heading' },
    crumbs,
    h('h1', { id: 'version-heading' }, `${name} ${version}`),
    facts,
    h('p', {}, h('a', { class: 'button', href: download, download: file }, `Download ${file}`)),
    h('h2', {}, 'Commands'),
    commandLine('curl', `curl -fo ${shellWord(file)} ${shellWord(download)}`),
    commandLine('spore-registry pull', `spore-registry pull ${shellWord(name)} ${shellWord(version)} --url ${shellWord(registryUrl)}`),
    promoteForm(record, (updated) => chips.replaceChildren(labelChips(updated.labels))),
    withdrawPanel(record, () => {
      changed();
      go(versionsOf(name));
    }),
  );
}

function promoteForm(record: FirmwareRecord, onSaved: (record: FirmwareRecord) => void): HTMLElement {
  const status = statusLine();
  const field = h('textarea', { id: 'promote-labels', rows: 4, spellcheck: 'false' });
  field.value = labelLines(record.labels);
  const form = h(
    'form',
    { class: 'panel', 'aria-labelledby': 'promote-heading' },
    h('h2', { id: 'promote-heading' }, 'Promote'),
    h('label', { for: 'promote-labels' }, 'Labels, one key=value a line (they replace the current ones)'),
    field,
    h('button', { type: 'submit' }, 'Save labels'),
    status,
  );
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    try {
      const updated = await relabel(record.name, record.version, parseLabels(field.value));
      onSaved(updated);
      status.show(`Labels of ${record.name} ${record.version} saved.`, 'ok');
    } catch (error) {
      status.show(describe(error), 'error');
    }
  });
  return form;
}

function withdrawPanel(record: FirmwareRecord, onWithdrawn: () => void): HTMLElement {
  const status = statusLine();
  const title = `${record.name} ${record.version}`;
  const confirmButton = h('button', { type: 'button', class: 'danger' }, `Withdraw ${title}`);
  const dialog = h(
    'dialog',
    { 'aria-labelledby': 'withdraw-question' },
    h('p', { id: 'withdraw-question' }, `Withdraw ${title}? Devices will no longer find it; its bytes go when no other version uses them.`),
    h('div', { class: 'dialog-buttons' }, h('button', { type: 'button', class: 'secondary', onclick: () => dialog.close() }, 'Cancel'), confirmButton),
  );
  confirmButton.addEventListener('click', async () => {
    dialog.close();
    try {
      await withdraw(record.name, record.version);
      onWithdrawn();
    } catch (error) {
      status.show(describe(error), 'error');
    }
  });
  return h(
    'div',
    { class: 'panel', 'aria-labelledby': 'withdraw-heading' },
    h('h2', { id: 'withdraw-heading' }, 'Withdraw'),
    h('button', { type: 'button', class: 'danger', onclick: () => dialog.showModal() }, 'Withdraw…'),
    dialog,
    status,
  );
}
