import { isDeepStrictEqual } from 'node:util';
import type { Cluster, Instance } from '../helpers/cluster.js';
import { waitFor } from '../helpers/wait-for.js';
import { answered } from './client.js';
import type { Chaos } from './ledger.js';
import { publish, jsonOf, send, untilAnswered, versionPath, type Traffic } from './traffic.js';

/** The version every blip check reads and writes: `probe@1.0.0`, with `probe@1.1.0` as its update. */
export const PROBE = { name: 'probe', current: '1.0.0', update: '1.1.0' };

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

/**
 * Stops PostgreSQL (under traffic, or not). While it is away, each instance must: answer /health
 * 503 naming postgresql, refuse a write 503 with Retry-After, and still serve the probe's bytes
 * and its update check; then the database stays away until `keepAway` resolves. Once it is
 * back, each instance must take writes again by itself. What went wrong is in the ledger.
 */
export async function restartDatabase(cluster: Cluster, traffic: Traffic, keepAway: (awayAt: number) => Promise<void> = async () => {}): Promise<NonNullable<Chaos['outage']>> {
  const { ledger } = traffic;
  const probe = traffic.releases.get(PROBE.name, PROBE.current)!;
  const relabel = (instance: number, labels: Record<string, string>) => {
    const body = Buffer.from(JSON.stringify({ labels }));
    return send(traffic, 'probe relabel', instance, 'PATCH', versionPath(PROBE.name, PROBE.current), { headers: { 'Content-Type': 'application/json', 'Content-Length': body.length }, body });
  };
  let awayAt = 0;
  const { backAt } = await cluster.restartDatabase(async () => {
    awayAt = Date.now();
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
      const download = await send(traffic, 'probe download', instance, 'GET', versionPath(PROBE.name, PROBE.current));
      if (!answered(download) || download.status !== 200 || !download.body.equals(probe.bytes)) {
        ledger.fail(`instance ${instance}: a known version with PostgreSQL away: ${answered(download) ? download.status : download.failure}`);
      }
      const update = await send(traffic, 'probe update check', instance, 'GET', `/updates/${PROBE.name}?current=${PROBE.current}`);
      if (!answered(update) || update.status !== 200 || jsonOf<{ version: string }>(update)?.version !== PROBE.update) {
        ledger.fail(`instance ${instance}: an update check with PostgreSQL away: ${answered(update) ? update.status : update.failure}`);
      }
    }
    await keepAway(awayAt);
  });
  // Writes come back by themselves: no restart, no client doing anything but retrying.
  await Promise.all(
    traffic.instances.map((instance) =>
      waitFor(async () => {
        const write = await relabel(instance, { blip: 'back' });
        return answered(write) && write.status === 200 && isDeepStrictEqual(jsonOf<{ labels: unknown }>(write)?.labels, { blip: 'back' });
      }),
    ),
  );
  return { awayAt, backAt, recoveredAt: Date.now() };
}
