import { cpuSeconds } from './cpu-time.js';
import type { LoadGenerator } from './wrk.js';

/**
 * How two or more servers are measured under the same load on a machine whose speed drifts:
 * in alternating rounds (rates, requests per CPU second, p99 latency; ratios as the median of
 * each round's pair, with their range) and side by side (both loaded at once: requests per CPU
 * second, which the drift cannot tilt). Every round runs at CONNECTIONS connections.
 */

/** Every round runs at this many connections: rate and p99 latency come from the same runs. */
export const CONNECTIONS = 64;

export interface RoundTools {
  generator: LoadGenerator;
  seconds: number;
  rounds: number;
  median(values: number[]): number;
}

export interface Measured {
  rate: number;
  /** Requests answered per CPU second of the server (all its threads; nginx's worker). */
  perCpu: number;
  p99: number;
  /** Each round's own figures, in the order measured. */
  rounds: { rate: number; perCpu: number; p99: number }[];
}

export interface Target {
  url: string;
  headers?: Record<string, string>;
  /** The server's process, whose CPU time is counted. */
  pid: number | undefined;
}

/**
 * How `a` compares with `b` in `key`: the ratio of each round's pair (measured one after the
 * other, so the machine's drift over a run cancels), their median and their range.
 */
export function pairedRatio(a: Measured, b: Measured, key: 'rate' | 'perCpu' | 'p99'): Spread {
  return spreadOf(a.rounds.map((round, i) => round[key] / (b.rounds[i]?.[key] ?? NaN)));
}

/** Ratios of several rounds: their median and their range. */
export interface Spread {
  median: number;
  low: number;
  high: number;
}

function spreadOf(ratios: number[]): Spread {
  const sorted = [...ratios].sort((x, y) => x - y);
  const middle = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 === 1 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
  return { median, low: sorted[0] as number, high: sorted.at(-1) as number };
}

/** `0.66× (0.58–0.71)`: the median of the rounds' ratios, and their range. */
export function formatRatio({ median, low, high }: Spread, digits = 2): string {
  return `${median.toFixed(digits)}× (${low.toFixed(digits)}–${high.toFixed(digits)})`;
}

/**
 * Requests answered per CPU second by `a` against `b`, both under the same load at the same
 * time, one ratio per round: the machine's drift (this one's speed moves by 2× within seconds,
 * shared with other work) then weighs on both alike. Rates and latencies are not taken from
 * these rounds: each server has half the machine in them.
 */
export async function sideBySide(tools: RoundTools, a: Target, b: Target, rounds: number): Promise<Spread> {
  const ratios: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const before = [cpuSeconds(a.pid), cpuSeconds(b.pid)] as const;
    const [resultA, resultB] = await Promise.all(
      [a, b].map((target) => tools.generator.run(target.url, { connections: CONNECTIONS, seconds: tools.seconds, headers: target.headers ?? {} })),
    );
    if (!resultA || !resultB || resultA.errors > 0 || resultB.errors > 0) throw new Error(`failed requests to ${a.url} or ${b.url}`);
    const perCpuA = resultA.requests / (cpuSeconds(a.pid) - before[0]);
    const perCpuB = resultB.requests / (cpuSeconds(b.pid) - before[1]);
    ratios.push(perCpuA / perCpuB);
  }
  return spreadOf(ratios);
}

/** Each target once per round, in turn, `rounds` times; each one's median rate and median p99. */
export async function alternate(tools: RoundTools, targets: Target[]): Promise<Measured[]> {
  const runs = targets.map(() => ({ rates: [] as number[], perCpu: [] as number[], p99s: [] as number[] }));
  for (let round = 0; round < tools.rounds; round++) {
    for (const [i, target] of targets.entries()) {
      const cpuBefore = cpuSeconds(target.pid);
      const result = await tools.generator.run(target.url, { connections: CONNECTIONS, seconds: tools.seconds, headers: target.headers ?? {} });
      const cpu = cpuSeconds(target.pid) - cpuBefore;
      if (result.errors > 0) throw new Error(`${result.errors} failed requests to ${target.url}`);
      runs[i]?.rates.push(result.requestsPerSecond);
      runs[i]?.perCpu.push(result.requests / cpu);
      runs[i]?.p99s.push(result.p99Ms);
    }
  }
  return runs.map(({ rates, perCpu, p99s }) => ({
    rate: tools.median(rates),
    perCpu: tools.median(perCpu),
    p99: tools.median(p99s),
    rounds: rates.map((rate, i) => ({ rate, perCpu: perCpu[i] as number, p99: p99s[i] as number })),
  }));
}
