/**
 * Building the page from code. Every piece of data becomes a text node or an attribute value,
 * never markup: names, versions and labels come from whoever published them, and a label
 * such as `<img src=x onerror=…>` must show as those characters. Nothing here sets innerHTML.
 */
export type Child = Node | string | number | null | undefined | false | Child[];

type Handler = (event: Event) => void;
export type Props = Record<string, string | number | boolean | Handler | undefined>;

/** An element: props starting with `on` are listeners (code only), the rest attributes. */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, props: Props = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === false) continue;
    if (typeof value === 'function') element.addEventListener(key.slice(2), value);
    else element.setAttribute(key, value === true ? '' : String(value));
  }
  append(element, children);
  return element;
}

export function append(parent: Node, children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(parent, child);
    else parent.appendChild(typeof child === 'string' || typeof child === 'number' ? document.createTextNode(String(child)) : child);
  }
}

/** A link inside the page: a real href (new tabs, shared links), followed without a reload. */
export function navLink(search: string, ...children: Child[]): HTMLAnchorElement {
  return h('a', { href: search || './', 'data-nav': true }, ...children);
}

export type StatusLine = HTMLParagraphElement & { show(text: string, kind: 'error' | 'ok'): void; clear(): void };

/** A place for a view's error or result message, read out by screen readers when it changes. */
export function statusLine(): StatusLine {
  const element = h('p', { class: 'status', role: 'status', 'aria-live': 'polite' });
  return Object.assign(element, {
    show(text: string, kind: 'error' | 'ok') {
      element.textContent = text;
      element.className = `status ${kind}`;
    },
    clear() {
      element.textContent = '';
      element.className = 'status';
    },
  });
}
