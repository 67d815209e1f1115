import { isDeepStrictEqual } from 'node:util';
import type { Cluster, Instance } from '../helpers/cluster.js';
import { waitFor } from '../helpers/wait-for.js';
import { answered, type Answered } from './client.js';
import { CONTESTED, PROBE } from './publishers.js';
import type { Chaos } from './ledger.js';
import { publish, jsonOf, send, untilAnswered, versionPath, type Traffic } from './traffic.js';

/** Publishes the probe's two versions (through nginx) before the traffic starts. */
export async function publishProbe(traffic: Traffic, bytes: Buffer): Promise<void> {
  for (const version of [PROBE.current, PROBE.update]) {
    const { answer } = await untilAnswered(traffic, 'probe publish', (target) => publish(traffic, 'probe publish', target, PROBE.name, version, bytes), 'nginx');
    if (answer.status !== 201) throw new Error(`the probe ${version} was answered ${answer.status}`);
    traffic.releases.acknowledge(PROBE.name, version, bytes, {});
  }
}

/** Waits until `ms` after `start`: the scenario's schedule. */
export function at(start: number, ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, start + ms - Date.now())));
}

/** `kill -9` on one instance under traffic, then the same instance started again on its port. */
export async function killAndRestart(cluster: Cluster, instance: Instance): Promise<NonNullable<Chaos['kill']>> {
  const killedAt = await cluster.kill(instance);
  const goneAt = Date.now();
  await cluster.restart(instance);
  return { instance: instance.number, at: killedAt, goneAt, restartedAt: Date.now() };
}

/** A read of a path and what a right answer to it is. */
interface KnownRead {
  path: string;
  right(answer: Answered): boolean;
}

/**
 * Reads that the traffic never changes: the probe's download and update check, and a few
 * contested versions (published once, never relabelled or deleted). Read from an instance
 * just before PostgreSQL goes away, they are what that instance "already knows". A few: on a
 * busy machine, the longer the reading takes, the likelier something else (a missed change
 * notice) empties the instance's cache before the database goes away.
 */
function knownReads(traffic: Traffic): KnownRead[] {
  const probe = traffic.releases.all().filter((release) => release.name === PROBE.name);
  const fixed = [...probe, ...traffic.releases.all().filter((release) => release.name === CONTESTED).slice(0, 4)];
  return [
    ...fixed.map((release) => ({ path: versionPath(release.name, release.version), right: (answer: Answered) => answer.status === 200 && answer.body.equals(release.bytes) })),
    { path: `/updates/${PROBE.name}?current=${PROBE.current}`, right: (answer: Answered) => answer.status === 200 && jsonOf<{ version: string }>(answer)?.version === PROBE.update },
  ];
}

/** Sends every read to `instance` and returns a line for each answer that was not right. */
async function readAll(traffic: Traffic, op: string, instance: number, reads: KnownRead[]): Promise<string[]> {
  const wrong: string[] = [];
  for (const read of reads) {
    const outcome = await send(traffic, op, instance, 'GET', read.path);
    if (!answered(outcome) || !read.right(outcome)) wrong.push(`${read.path} → ${answered(outcome) ? `${outcome.status} ${outcome.code ?? ''}` : outcome.failure}`);
  }
  return wrong;
}

/**
 * Stops PostgreSQL (under traffic, or not). Just before, each instance reads what it will be
 * asked while the database is away (knownReads). While it is away, each instance must: answer
 * /health 503 naming postgresql, refuse a write 503 with Retry-After, and still answer every
 * one of those reads rightly; then the database stays away until `keepAway` resolves. Once it
 * is back, each instance must take writes again by itself. What went wrong is in the ledger.
 */
export async function restartDatabase(cluster: Cluster, traffic: Traffic, keepAway: (awayAt: number) => Promise<void> = async () => {}): Promise<NonNullable<Chaos['outage']>> {
  const { ledger } = traffic;
  const reads = knownReads(traffic);
  for (const instance of traffic.instances) {
    for (const line of await readAll(traffic, 'read before the blip', instance, reads)) ledger.fail(`instance ${instance} with PostgreSQL up: ${line}`);
  }
  const relabel = (instance: number, labels: Record<string, string>) => {
    const body = Buffer.from(JSON.stringify({ labels }));
    return send(traffic, 'probe relabel', instance, 'PATCH', versionPath(PROBE.name, PROBE.current), { headers: { 'Content-Type': 'application/json', 'Content-Length': body.length }, body });
  };
  const { awayAt, backAt } = await cluster.restartDatabase(async () => {
    const stoppedAt = Date.now();
    for (const instance of traffic.instances) {
      const health = await send(traffic, 'health', instance, 'GET', '/health');
      const details = answered(health) ? jsonOf<{ error?: { details?: { dependency?: string } } }>(health)?.error?.details : undefined;
      if (!answered(health) || health.status !== 503 || details?.dependency !== 'postgresql' || !health.headers['retry-after']) {
        ledger.fail(`instance ${instance} /health with PostgreSQL away: ${answered(health) ? `${health.status} ${health.body.toString().slice(0, 300)}` : health.failure}`);
      }
      const write = await relabel(instance, { blip: 'away' });
      if (!answered(write) || write.status !== 503 || write.code !== 'UNAVAILABLE' || !write.headers['retry-after']) {
        ledger.fail(`instance ${instance}: a write with PostgreSQL away: ${answered(write) ? `${write.status} ${write.code} Retry-After ${write.headers['retry-after']}` : write.failure}`);
      }
      for (const line of await readAll(traffic, 'read during the blip', instance, reads)) ledger.fail(`instance ${instance} with PostgreSQL away: ${line}`);
    }
    await keepAway(stoppedAt);
  });
  // Writes come back by themselves: no restart, no client doing anything but retrying.
  await Promise.all(
    traffic.instances.map(async (instance) => {
      let last = '';
      const tookWrite = async () => {
        const write = await relabel(instance, { blip: 'back' });
        last = answered(write) ? `${write.status} ${write.body.toString().slice(0, 300)}` : write.failure;
        return answered(write) && write.status === 200 && isDeepStrictEqual(jsonOf<{ labels: unknown }>(write)?.labels, { blip: 'back' });
      };
      await waitFor(tookWrite).catch(() => ledger.fail(`instance ${instance} took no write after PostgreSQL was back; the last answer: ${last}`));
    }),
  );
  return { awayAt, backAt, recoveredAt: Date.now() };
}
