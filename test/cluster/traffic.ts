import type { Cluster } from '../helpers/cluster.js';
import { firmwareUpload } from '../helpers/multipart.js';
import { answered, call, type Answered, type Outcome, type Target } from './client.js';
import { Ledger } from './ledger.js';
import { Releases } from './releases.js';

/** What every worker shares: where to send, what it knows, where it writes down what it saw. */
export interface Traffic {
  /** `nginx` and each instance's number → its base URL. */
  urls: Record<string, string>;
  instances: number[];
  ledger: Ledger;
  releases: Releases;
  /** The last patch number of FIRMWARE taken; contested rounds played, and those with exactly one 201; update checks answered 304. */
  counters: { patch: number; rounds: number; oneCreated: number; notModified: number };
  /** False once the run is over: workers finish what they are doing and stop. */
  running(): boolean;
}

/** Traffic to `cluster` (nginx and each instance), running until `endAt`, with nothing known yet. */
export function trafficOn(cluster: Cluster, endAt: number): Traffic {
  const urls: Record<string, string> = { nginx: cluster.url };
  for (const instance of cluster.instances) urls[String(instance.number)] = instance.url;
  return {
    urls,
    instances: cluster.instances.map((instance) => instance.number),
    ledger: new Ledger(),
    releases: new Releases(),
    counters: { patch: 0, rounds: 0, oneCreated: 0, notModified: 0 },
    running: () => Date.now() < endAt,
  };
}

/** Half the requests through nginx, the other half straight to an instance, as a device on a LAN might. */
export function anyTarget(traffic: Traffic): Target {
  return Math.random() < 0.5 ? 'nginx' : traffic.instances[Math.floor(Math.random() * traffic.instances.length)]!;
}

export function send(traffic: Traffic, op: string, target: Target, method: string, path: string, init?: { headers?: Record<string, string | number>; body?: Buffer }): Promise<Outcome> {
  traffic.ledger.count(op);
  return call(traffic.urls, target, method, path, init);
}

/** The pace of one worker: a few requests a second each, so that nine workers stay within two shared cores. */
export function breathe(ms = 20): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** What a write is retried on: no answer, nginx's own 502, or a 503 (the client's retry, not nginx's). */
export function unanswered(outcome: Outcome): boolean {
  return !answered(outcome) || outcome.status === 503 || (outcome.status === 502 && !outcome.code);
}

/**
 * Sends a write until it is answered, as a CI job does: each failed attempt is noted (the chaos
 * must explain it) and retried, on another target, after a short pause. Resolves with the
 * answer and whether an earlier attempt failed (and may have been applied).
 */
export async function untilAnswered(traffic: Traffic, op: string, attempt: (target: Target) => Promise<Outcome>, first: Target = anyTarget(traffic)): Promise<{ answer: Answered; failedBefore: boolean }> {
  let failedBefore = false;
  let target = first;
  for (let tries = 0; ; tries++) {
    const outcome = await attempt(target);
    if (!unanswered(outcome)) return { answer: outcome as Answered, failedBefore };
    traffic.ledger.unexpected(op, outcome, 'retried');
    if (tries === 200) throw new Error(`${op}: ${outcome.method} ${outcome.path} never answered`);
    failedBefore = true;
    target = anyTarget(traffic);
    await breathe(100);
  }
}

/** A publish: metadata first, then the file, as `curl -F` sends them. */
export function publish(traffic: Traffic, op: string, target: Target, name: string, version: string, bytes: Buffer, labels: Record<string, string> = {}): Promise<Outcome> {
  const upload = firmwareUpload({ name, version, labels }, bytes);
  return send(traffic, op, target, 'POST', '/firmware', { headers: { 'Content-Type': upload.contentType, 'Content-Length': upload.body.length }, body: upload.body });
}

export function versionPath(name: string, version: string): string {
  return `/firmware/${encodeURIComponent(name)}/${encodeURIComponent(version)}`;
}

/** Parses a JSON body, or `undefined` when it is not JSON. */
export function jsonOf<T>(outcome: Answered): T | undefined {
  try {
    return JSON.parse(outcome.body.toString('utf8')) as T;
  } catch {
    return undefined;
  }
}
