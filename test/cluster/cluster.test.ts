import test, { type ExecutionContext } from 'ava';
import { findNginx } from '../../bench/nginx.js';
import { ceph } from '../helpers/ceph.js';
import { startCluster, whyNoCluster, type Cluster } from '../helpers/cluster.js';
import { firmwareBytes } from '../helpers/fixtures.js';
import { privatePostgres } from '../helpers/postgres.js';
import { newBucket, s3Env } from '../helpers/stores.js';
import { answered } from './client.js';
import { publishProbe, restartDatabase } from './chaos.js';
import { mixedTraffic } from './scenario.js';
import { send, trafficOn } from './traffic.js';

const missing = whyNoCluster();
/** Reported as skipped, with the reason in its title, where the engines are not installed. */
const clusterTest = (title: string, run: (t: ExecutionContext) => Promise<void>) =>
  missing ? test.skip(`${title} (skipped: ${missing})`, run) : test.serial(title, run);

/** Three instances of the built server sharing a PostgreSQL of the test's own and a fresh bucket on Ceph RGW, behind nginx. */
async function threeInstances(t: ExecutionContext): Promise<Cluster> {
  const rgw = await ceph();
  const [database, bucket] = await Promise.all([privatePostgres(t), newBucket(rgw)]);
  return startCluster(t, { nginx: findNginx()!, instances: 3, blobEnv: s3Env(rgw, bucket), database });
}

clusterTest('cluster: 3 instances behind nginx take 60 s of mixed traffic, a kill -9 and a PostgreSQL restart, and lose nothing acknowledged', async (t) => {
  t.timeout(300_000);
  const cluster = await threeInstances(t);
  await mixedTraffic(t, cluster, { seconds: 60, killAt: 20, databaseAt: 40 });
});

clusterTest('cluster: while PostgreSQL is away every instance names it in /health, refuses writes 503 with Retry-After and serves what it knows; then takes writes again by itself', async (t) => {
  t.timeout(120_000);
  const cluster = await threeInstances(t);
  const traffic = trafficOn(cluster, 0);
  await publishProbe(traffic, firmwareBytes(8192));
  const outage = await restartDatabase(cluster, traffic);
  t.log(`PostgreSQL away for ${outage.backAt - outage.awayAt} ms; every instance took writes again ${outage.recoveredAt - outage.backAt} ms after it was back`);
  t.log(`the instances warned: ${cluster.warnings().join('; ') || 'never'}`);
  t.deepEqual(traffic.ledger.wrong, []);
  t.deepEqual(cluster.crashes, [], 'no instance died');
  for (const instance of traffic.instances) {
    const health = await send(traffic, 'health', instance, 'GET', '/health');
    t.true(answered(health) && health.status === 200, `instance ${instance} is healthy again`);
  }
});
