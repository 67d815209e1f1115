import type { HeaderList } from '../header-list.js';
import type { UpdateAnswer } from './update-answer.js';

/** Request URLs remembered; past it the oldest is dropped (a miss costs one pass through koa). */
const LIMIT = 10_000;

/** What a fast-path request needs to answer exactly as koa's route did. */
export interface RememberedAnswer {
  answer: UpdateAnswer;
  /**
   * Every header of the answer (of its 304 when there is one), in the order koa sent them:
   * X-Request-Id first (its value, at index 1, left empty: it is each request's own), then
   * what koa's middleware had set before the route (CORS for a request without Origin), then
   * the answer's own.
   */
  headers: HeaderList;
  notModified?: HeaderList;
}

/**
 * `answer` as koa sent it after `preceding`, the headers its middleware had set before the
 * route ran (without X-Request-Id), in their order.
 */
export function rememberedAnswer(answer: UpdateAnswer, preceding: [name: string, value: string | string[] | number][]): RememberedAnswer {
  const before = ['X-Request-Id', '', ...preceding.flatMap(([name, value]) => (Array.isArray(value) ? value.flatMap((one) => [name, one]) : [name, String(value)]))];
  const list = (headers: Record<string, string>) => [...before, ...Object.entries(headers).flat()];
  return answer.status === 200 ? { answer, headers: list(answer.headers), notModified: list(answer.notModified) } : { answer, headers: list(answer.headers) };
}

interface Entry extends RememberedAnswer {
  /** `registry.changes` when the answer was computed. */
  changes: number;
}

/**
 * Update answers by raw request URL (`/updates/node?current=1.0.0&label=channel=stable`), as
 * koa's route computed them, for the fast path to send again without koa. An answer depends
 * only on its URL and on what is published, so each is kept with the registry's change count
 * it was computed at and is stale as soon as that count moves: the next request after a
 * publish, relabel or delete goes to koa and is answered from the index, at once.
 */
export class UpdateAnswers {
  readonly #entries = new Map<string, Entry>();
  /** The change count of the entries kept: when it moves, they all go at the next remember. */
  #changes = -1;

  constructor(private readonly changes: () => number) {}

  /** The answer remembered for `url`, unless something changed since it was computed. */
  forUrl(url: string): RememberedAnswer | undefined {
    const entry = this.#entries.get(url);
    if (entry === undefined) return undefined;
    if (entry.changes === this.changes()) return entry;
    this.#entries.delete(url);
    return undefined;
  }

  /**
   * Keeps `remembered` for `url`. `changes` is the count read before the answer was computed:
   * if a change landed while it was, the answer is already stale and is never sent again.
   */
  remember(url: string, remembered: RememberedAnswer, changes: number): void {
    if (changes !== this.changes()) return;
    if (changes !== this.#changes) {
      this.#entries.clear();
      this.#changes = changes;
    }
    if (this.#entries.size >= LIMIT && !this.#entries.has(url)) this.#entries.delete(this.#entries.keys().next().value as string);
    this.#entries.set(url, { ...remembered, changes });
  }

  /** Answers held for the registry as it is now. */
  get size(): number {
    return this.#changes === this.changes() ? this.#entries.size : 0;
  }
}
