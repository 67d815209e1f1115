import type { ExecutionContext } from 'ava';
import type { Cluster } from '../helpers/cluster.js';
import { firmwareBytes } from '../helpers/fixtures.js';
import { waitFor } from '../helpers/wait-for.js';
import { deleter, relabeler } from './changers.js';
import { answered } from './client.js';
import { at, killAndRestart, publishProbe, restartDatabase } from './chaos.js';
import { failureKind, type Chaos } from './ledger.js';
import { contester, publisher } from './publishers.js';
import { downloader, poller } from './readers.js';
import { trafficOn } from './traffic.js';
import { verifyEverywhere } from './verify.js';

export interface Schedule {
  /** How long the traffic runs. */
  seconds: number;
  /** When one instance is killed with SIGKILL and started again. */
  killAt: number;
  /** When PostgreSQL is stopped and started again; never without a shared database. */
  databaseAt?: number;
}

/**
 * The mixed traffic of issue 11 against `cluster`, with its chaos, then the checks: nothing
 * acknowledged lost, no wrong bytes, nothing published missing or deleted served after a second,
 * one 201 per contested version, every failure explained by the chaos. Logs the figures.
 */
export async function mixedTraffic(t: ExecutionContext, cluster: Cluster, schedule: Schedule): Promise<void> {
  const start = Date.now();
  const traffic = trafficOn(cluster, start + schedule.seconds * 1000);
  const { ledger, releases } = traffic;
  await publishProbe(traffic, firmwareBytes(8192));

  const chaos: Chaos = {};
  const victim = cluster.instances[1]!;
  const runChaos = async () => {
    await at(start, schedule.killAt * 1000);
    chaos.kill = await killAndRestart(cluster, victim);
    if (schedule.databaseAt === undefined) return;
    await at(start, schedule.databaseAt * 1000);
    // Away until the traffic's own writes were refused a few times.
    const refusedSince = (awayAt: number) => ledger.problems.filter(({ outcome }) => answered(outcome) && outcome.status === 503 && outcome.startedAt >= awayAt).length;
    const keepAway = (awayAt: number) =>
      waitFor(() => refusedSince(awayAt) >= 3, 15_000).catch(() => {
        ledger.fail(`PostgreSQL away for 15 s, and the traffic's writes were refused ${refusedSince(awayAt)} times (${[...ledger.requests].map(([op, count]) => `${op} ${count}`).join(', ')})`);
      });
    chaos.outage = await restartDatabase(cluster, traffic, keepAway);
  };
  const workers = [publisher, publisher, contester, downloader, downloader, poller, poller, relabeler, deleter];
  await Promise.all([runChaos(), ...workers.map((worker) => worker(traffic))]);
  const ranFor = Date.now() - start;
  const verified = await verifyEverywhere(traffic);

  const explained = ledger.explain(chaos);
  const unexplained = explained.filter(({ allowance }) => allowance === undefined).map(({ problem }) => problem);
  const acknowledged = releases.all();
  const kept = acknowledged.filter((release) => release.state === 'published');
  const deleted = acknowledged.filter((release) => release.state === 'deleted');
  t.log(`ran ${(ranFor / 1000).toFixed(1)} s: ${ledger.total} requests (${[...ledger.requests].map(([op, count]) => `${op} ${count}`).join(', ')})`);
  t.log(`failures by kind: ${tally(ledger.problems.map(({ outcome }) => failureKind(outcome))) || 'none'}`);
  t.log(`failures explained by the chaos: ${tally(explained.flatMap(({ allowance }) => allowance ?? [])) || 'none'}; unexplained: ${unexplained.length}`);
  t.log(`publishes acknowledged: ${acknowledged.length} (${deleted.length} deleted since), verified on every instance: ${verified} of ${kept.length * traffic.instances.length} downloads`);
  t.log(`update checks answered 304 Not Modified: ${traffic.counters.notModified}`);
  t.log(`contested versions: ${traffic.counters.rounds}, with exactly one 201: ${traffic.counters.oneCreated}`);
  t.log(`longest propagation (a stale answer to a request sent this long after the acknowledgement): publish ${ledger.longestPropagation.publish} ms, delete ${ledger.longestPropagation.delete} ms`);
  const clock = (ms: number) => `${((ms - start) / 1000).toFixed(1)} s (${new Date(ms).toISOString().slice(11, 23)})`;
  if (chaos.kill) t.log(`instance ${chaos.kill.instance} killed at ${clock(chaos.kill.at)}, listening again ${chaos.kill.restartedAt - chaos.kill.at} ms later`);
  if (chaos.outage) t.log(`PostgreSQL away at ${clock(chaos.outage.awayAt)} for ${chaos.outage.backAt - chaos.outage.awayAt} ms; every instance took writes again ${chaos.outage.recoveredAt - chaos.outage.backAt} ms after it was back`);
  t.log(`the instances warned: ${tally(cluster.warnings()) || 'never'}`);
  if (cluster.crashes.length > 0) t.log(`instances that crashed:\n${cluster.crashes.join('\n')}`);
  if (unexplained.length > 0) t.log(`unexplained failures:\n${unexplained.slice(0, 40).join('\n')}`);

  t.deepEqual(ledger.wrong, [], 'no acknowledged publish lost, no wrong bytes, nothing published missing or deleted served after 1 s, one 201 per contested version');
  t.deepEqual(cluster.crashes, [], 'no instance died but the one killed');
  t.deepEqual(unexplained, [], 'every failure is explained by a kill or by PostgreSQL being away');
  t.is(verified, kept.length * traffic.instances.length);
  t.true(acknowledged.length >= 30 && deleted.length >= 5 && traffic.counters.rounds >= 5 && traffic.counters.notModified > 0, 'the traffic did publish, delete, contest and poll with If-None-Match');
}

function tally(kinds: string[]): string {
  const counts = new Map<string, number>();
  for (const kind of kinds) counts.set(kind, (counts.get(kind) ?? 0) + 1);
  return [...counts].map(([kind, count]) => `${kind} ×${count}`).join(', ');
}
