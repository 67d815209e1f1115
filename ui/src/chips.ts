import { h } from './dom.js';

/**
 * Labels as chips, always as text. With `onPick`, each chip is a button that filters by it
 * (`key=value`), otherwise a plain list item.
 */
export function labelChips(labels: Record<string, string>, onPick?: (filter: string) => void): HTMLElement {
  const entries = Object.entries(labels);
  if (entries.length === 0) return h('span', { class: 'none' }, 'no labels');
  return h(
    'ul',
    { class: 'chips' },
    entries.map(([key, value]) => {
      const filter = `${key}=${value}`;
      const content = [h('span', { class: 'chip-key' }, key), h('span', { class: 'chip-value' }, value)];
      return h(
        'li',
        {},
        onPick
          ? h('button', { type: 'button', class: 'chip', title: `Show only versions labelled ${filter}`, onclick: () => onPick(filter) }, content)
          : h('span', { class: 'chip' }, content),
      );
    }),
  );
}
