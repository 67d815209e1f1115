import { answered, targetName, type Outcome } from './client.js';

/** What the chaos did, and when (ms since the epoch). */
export interface Chaos {
  /** One instance killed with SIGKILL: the signal, the process gone, the new one listening. */
  kill?: { instance: number; at: number; goneAt: number; restartedAt: number };
  /** PostgreSQL stopped at `awayAt`, started again at `backAt`; every instance took writes again at `recoveredAt`. */
  outage?: { awayAt: number; backAt: number; recoveredAt: number };
}

/** An answer (or its absence) that a worker did not expect; the chaos may explain it. */
interface Problem {
  op: string;
  outcome: Outcome;
  why: string;
}

const WRITES = new Set(['POST', 'PATCH', 'DELETE']);
/** What nginx does not send to another instance once it was sent to one (proxy_next_upstream). */
const NON_IDEMPOTENT = new Set(['POST', 'PATCH']);

/**
 * Every request of the run: counted by operation, and each one that did not get what its worker
 * expected kept, to be explained by the chaos at the end or reported as a failure. Failures that
 * nothing can explain (wrong bytes, a version shown or still served more than a second late) go
 * straight to `wrong`.
 */
export class Ledger {
  readonly requests = new Map<string, number>();
  readonly problems: Problem[] = [];
  readonly wrong: string[] = [];
  /** The longest time, in ms, from an acknowledgement to a request that an instance still answered stale (propagation.ts). */
  readonly longestPropagation = { publish: 0, delete: 0 };

  count(op: string): void {
    this.requests.set(op, (this.requests.get(op) ?? 0) + 1);
  }

  unexpected(op: string, outcome: Outcome, why = 'unexpected answer'): void {
    this.problems.push({ op, outcome, why });
  }

  fail(message: string): void {
    this.wrong.push(message);
  }

  propagated(kind: 'publish' | 'delete', ms: number): void {
    this.longestPropagation[kind] = Math.max(this.longestPropagation[kind], ms);
  }

  get total(): number {
    return [...this.requests.values()].reduce((sum, count) => sum + count, 0);
  }

  /** The problems, each with the allowance that explains it, or `undefined` when nothing does. */
  explain(chaos: Chaos): { problem: string; allowance: string | undefined }[] {
    return this.problems.map(({ op, outcome, why }) => ({ problem: describe(op, outcome, why), allowance: allowance(outcome, chaos) }));
  }
}

/** The kind of a failure, for the figures: the JSON error code, or how the connection failed. */
export function failureKind(outcome: Outcome): string {
  if (!answered(outcome)) return outcome.failure;
  if (outcome.code) return `${outcome.status} ${outcome.code}${outcome.status === 503 && outcome.headers['retry-after'] ? ' with Retry-After' : ''}`;
  return `${outcome.status} not JSON`;
}

function describe(op: string, outcome: Outcome, why: string): string {
  const time = new Date(outcome.startedAt).toISOString().slice(11, 23);
  return `${time} ${op}: ${outcome.method} ${outcome.path} to ${targetName(outcome.target)} → ${failureKind(outcome)} (${why})`;
}

function allowance(outcome: Outcome, { kill, outage }: Chaos): string | undefined {
  const inFlightAtKill = kill !== undefined && outcome.startedAt <= kill.goneAt && outcome.endedAt >= kill.at;
  if (!answered(outcome)) {
    if (kill && outcome.target === kill.instance && outcome.startedAt <= kill.restartedAt && outcome.endedAt >= kill.at) {
      return 'connection failure: the instance was killed';
    }
    // nginx cannot retry once the answer has begun, nor a POST or PATCH once it was sent.
    if (outcome.target === 'nginx' && inFlightAtKill && (NON_IDEMPOTENT.has(outcome.method) || outcome.failure === 'ANSWER_CUT')) {
      return 'connection failure through nginx: in flight at the kill';
    }
    return undefined;
  }
  if (outcome.target === 'nginx' && outcome.status === 502 && !outcome.code && inFlightAtKill && NON_IDEMPOTENT.has(outcome.method)) {
    return '502 from nginx: a POST or PATCH in flight at the kill';
  }
  if (outcome.target === 'nginx' && outcome.method === 'DELETE' && outcome.code === 'NOT_FOUND' && inFlightAtKill) {
    return '404 to a DELETE that nginx sent again after the kill, the first attempt applied';
  }
  if (outage && outcome.status === 503 && outcome.code === 'UNAVAILABLE' && outcome.headers['retry-after'] !== undefined && outcome.endedAt >= outage.awayAt && outcome.startedAt <= outage.recoveredAt) {
    // What an instance has not read before (or read before a change dropped it) it cannot
    // answer without the database; what it knows is checked apart (chaos.ts, knownReads).
    return WRITES.has(outcome.method) ? '503 with Retry-After: a write while PostgreSQL was away' : '503 with Retry-After: a read the instance had not cached, while PostgreSQL was away';
  }
  return undefined;
}
