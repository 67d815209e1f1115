import { h } from './dom.js';

/**
 * A button that copies `text`. The Clipboard API exists only in secure contexts; on plain
 * http (a workshop network) the older selection copy still works from a click.
 */
export function copyButton(text: string, what: string): HTMLButtonElement {
  const button = h('button', { type: 'button', class: 'copy', title: `Copy ${what}`, 'aria-label': `Copy ${what}` }, 'Copy');
  button.addEventListener('click', async () => {
    const copied = await copyText(text);
    button.textContent = copied ? 'Copied' : 'Select and copy';
    setTimeout(() => (button.textContent = 'Copy'), 2000);
  });
  return button;
}

async function copyText(text: string): Promise<boolean> {
  if (navigator.clipboard && window.isSecureContext) {
    try {
      await navigator.clipboard.writeText(text);
      return true;
    } catch {
      // Denied (no permission, no focus): fall back to the selection copy.
    }
  }
  const field = h('textarea', { class: 'offscreen', readonly: true, 'aria-hidden': 'true', tabindex: -1 });
  field.value = text;
  document.body.append(field);
  field.select();
  const copied = document.execCommand('copy');
  field.remove();
  return copied;
}

/** A command to paste in a terminal, shown in full, with its copy button. */
export function commandLine(title: string, command: string): HTMLElement {
  return h('div', { class: 'command' }, h('span', { class: 'command-title' }, title), h('code', {}, command), copyButton(command, `the ${title} command`));
}
