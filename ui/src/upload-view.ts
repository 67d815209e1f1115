import { ApiError, publishByDigest, upload, type Metadata, type Published } from './api.js';
import { h, navLink, statusLine } from './dom.js';
import { formatBytes, parseLabels } from './format.js';
import { digestFile } from './sha256.js';
import { describe } from './describe.js';
import { writeState } from './view-state.js';

/**
 * Publishing a file, as `spore-registry push` does: hash it here, publish by digest when the
 * registry already has the bytes (nothing is sent), otherwise upload them declaring the
 * digest and size, so the registry checks what arrived.
 */
export function uploadView(name: string, published: () => void): HTMLElement {
  let file: File | undefined;
  const status = statusLine();
  const progress = h('progress', { id: 'upload-progress', max: 100, value: 0, 'aria-label': 'Upload progress' });
  const progressText = h('span', { class: 'progress-text' });
  const fileInput = h('input', { id: 'upload-file', type: 'file' });
  const chosen = h('span', { class: 'chosen' }, 'Drop a firmware file here, or choose one.');
  const nameInput = h('input', { id: 'upload-name', name: 'name', value: name, required: true, autocomplete: 'off', pattern: '[A-Za-z0-9][A-Za-z0-9._\\-]*', maxlength: 128 });
  const versionInput = h('input', { id: 'upload-version', name: 'version', required: true, autocomplete: 'off', placeholder: '1.2.3', maxlength: 128 });
  const labelsInput = h('textarea', { id: 'upload-labels', rows: 3, spellcheck: 'false', placeholder: 'channel=beta' });
  const submit = h('button', { type: 'submit' }, 'Publish');

  const choose = (picked: File | undefined) => {
    file = picked;
    chosen.textContent = picked ? `${picked.name} (${formatBytes(picked.size)})` : 'Drop a firmware file here, or choose one.';
  };
  fileInput.addEventListener('change', () => choose(fileInput.files?.[0]));
  const drop = h('div', { class: 'drop' }, h('label', { for: 'upload-file' }, 'Firmware file'), fileInput, chosen);
  drop.addEventListener('dragover', (event) => {
    event.preventDefault();
    drop.classList.add('over');
  });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (event) => {
    event.preventDefault();
    drop.classList.remove('over');
    choose(event.dataTransfer?.files[0]);
  });

  const showProgress = (done: number, total: number, what: string) => {
    const percent = total === 0 ? 100 : Math.floor((done / total) * 100);
    progress.value = percent;
    progressText.textContent = `${what} ${percent}%`;
  };
  const form = h(
    'form',
    { class: 'panel upload', 'aria-labelledby': 'upload-heading' },
    drop,
    h('div', {}, h('label', { for: 'upload-name' }, 'Name'), nameInput),
    h('div', {}, h('label', { for: 'upload-version' }, 'Version (SemVer)'), versionInput),
    h('div', {}, h('label', { for: 'upload-labels' }, 'Labels, one key=value a line'), labelsInput),
    submit,
    h('div', { class: 'progress' }, progress, progressText),
    status,
  );
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (!file) return status.show('Choose a file first.', 'error');
    const chosenFile = file;
    submit.disabled = true;
    status.clear();
    try {
      const labels = parseLabels(labelsInput.value);
      const hex = await digestFile(chosenFile, (hashed) => showProgress(hashed, chosenFile.size, 'Computing SHA-256…'));
      const metadata: Metadata = { name: nameInput.value.trim(), version: versionInput.value.trim(), labels, sha256: `sha256:${hex}`, size: chosenFile.size };
      let record: Published;
      let how: string;
      try {
        record = await publishByDigest(metadata);
        how = 'the registry already had these bytes: none were sent';
      } catch (error) {
        if (!(error instanceof ApiError && error.code === 'BLOB_UNKNOWN')) throw error;
        record = await upload(metadata, chosenFile, (sent, total) => showProgress(sent, total, 'Uploading…'));
        showProgress(1, 1, 'Uploaded');
        how = record.deduplicated ? 'uploaded; the registry stored no new bytes' : 'uploaded';
      }
      status.show(`Published ${record.name} ${record.version} (${record.sha256}): ${how}.`, 'ok');
      status.append(' ', navLink(writeState({ view: 'version', name: record.name, version: record.version }), `Open ${record.name} ${record.version}`));
      published();
    } catch (error) {
      status.show(describe(error), 'error');
    } finally {
      submit.disabled = false;
    }
  });
  return h('section', { 'aria-labelledby': 'upload-heading' }, h('p', { class: 'crumbs' }, navLink('', 'Firmware'), ' / '), h('h1', { id: 'upload-heading' }, 'Upload'), form);
}
