import type { ExecutionContext } from 'ava';
import { isRegistryError } from '../../src/errors.js';
import type { ChangeNotice } from '../../src/index/firmware-index.js';
import { PG_SCHEMA_VERSION } from '../../src/index/postgres/pg-schema.js';
import { PostgresIndex, type PostgresIndexOptions } from '../../src/index/postgres/postgres-index.js';
import { freshDatabase, postgresTest, privatePostgres, query } from '../helpers/postgres.js';
import { waitFor } from '../helpers/wait-for.js';
import { indexContract, newDigest, record } from './index-contract.js';

async function openIndex(t: ExecutionContext, url: string, options: PostgresIndexOptions = {}): Promise<PostgresIndex> {
  const index = await PostgresIndex.open(url, options);
  t.teardown(() => index.close());
  return index;
}

indexContract('PostgresIndex', async (t) => openIndex(t, await freshDatabase()), postgresTest);

/** Collects what an index's onChange hears. */
function hear(index: PostgresIndex): (ChangeNotice | undefined)[] {
  const heard: (ChangeNotice | undefined)[] = [];
  index.onChange((change) => heard.push(change));
  return heard;
}

const unavailable = (error: unknown) => isRegistryError(error, 'UNAVAILABLE') && error.details.dependency === 'postgresql';

postgresTest('PostgresIndex: three instances starting at once run each migration once', async (t) => {
  const url = await freshDatabase();
  const indexes = await Promise.all([openIndex(t, url), openIndex(t, url), openIndex(t, url)]);
  t.is(indexes.reduce((sum, index) => sum + index.migrated, 0), PG_SCHEMA_VERSION);
  const rows = await query<{ version: number }>(url, 'SELECT version FROM schema_migrations ORDER BY version');
  t.deepEqual(rows.map((row) => row.version), Array.from({ length: PG_SCHEMA_VERSION }, (_, i) => i + 1));
  const again = await openIndex(t, url);
  t.is(again.migrated, 0, 'a later start finds nothing to do');
});

postgresTest('PostgresIndex: a change on one instance reaches the other: onChange, find and list', async (t) => {
  const url = await freshDatabase();
  const [one, other] = [await openIndex(t, url), await openIndex(t, url)];
  const heard = hear(other);
  // The other instance reads first, so it holds the answers in its cache.
  t.is(await other.find('base', '1.0.0'), undefined);
  t.deepEqual(await other.list({ name: 'base' }), []);

  const started = Date.now();
  await one.insert(record('base', '1.0.0', { labels: { channel: 'beta' } }));
  await waitFor(() => heard.some((change) => change?.version === '1.0.0'));
  t.log(`insert heard by the other instance after ${Date.now() - started} ms`);
  t.is((await other.find('base', '1.0.0'))?.version, '1.0.0');
  t.is((await other.list({ name: 'base' })).length, 1);

  heard.length = 0;
  await one.relabel('base', '1.0.0', { channel: 'stable' });
  await waitFor(() => heard.length > 0);
  t.deepEqual((await other.find('base', '1.0.0'))?.labels, { channel: 'stable' });

  heard.length = 0;
  await one.remove('base', '1.0.0');
  await waitFor(() => heard.length > 0);
  t.is(await other.find('base', '1.0.0'), undefined);
  t.deepEqual(await other.list({ name: 'base' }), []);
  t.false(heard.includes(undefined), 'no notification was missed');
});

postgresTest('PostgresIndex: a change without a notification is noticed by the counter, and forgets every cached read', async (t) => {
  const url = await freshDatabase();
  const index = await openIndex(t, url, { changePollMs: 50 });
  await index.insert(record('base', '1.0.0', { labels: { channel: 'beta' } }));
  t.deepEqual((await index.find('base', '1.0.0'))?.labels, { channel: 'beta' });
  const heard = hear(index);
  // Behind the index's back: a change that bumps the counter but notifies no one.
  await query(url, `BEGIN; UPDATE firmware SET labels = '{"channel":"stable"}'; UPDATE index_state SET seq = seq + 1; COMMIT`);
  await waitFor(() => heard.includes(undefined));
  t.deepEqual((await index.find('base', '1.0.0'))?.labels, { channel: 'stable' });
});

postgresTest('PostgresIndex: an insert refused as VERSION_EXISTS drops the stale cached absence at once', async (t) => {
  const url = await freshDatabase();
  // Polling slower than the test: only the refusal can tell this instance.
  const index = await openIndex(t, url, { changePollMs: 600_000 });
  t.is(await index.find('base', '1.0.0'), undefined);
  // Another instance's publish whose notification has not arrived yet.
  await query(
    url,
    `BEGIN;
     INSERT INTO firmware (name, version, size, digest, labels, created_at, precedence, prerelease)
       VALUES ('base', '1.0.0', 1, 'sha256:00', '{}', '2026-01-01T00:00:00.000Z', '00110011001111', false);
     UPDATE index_state SET seq = seq + 1, versions = versions + 1;
     COMMIT`,
  );
  t.true(isRegistryError(await t.throwsAsync(index.insert(record('base', '1.0.0'))), 'VERSION_EXISTS'));
  t.is(String((await index.find('base', '1.0.0'))?.digest), 'sha256:00');
});

postgresTest('PostgresIndex: concurrent inserts of one version on two instances: exactly one succeeds', async (t) => {
  const url = await freshDatabase();
  const [one, other] = [await openIndex(t, url), await openIndex(t, url)];
  for (let round = 0; round < 5; round++) {
    const version = `1.0.${round}`;
    const results = await Promise.allSettled([one, other, one, other].map((index) => index.insert(record('base', version))));
    t.is(results.filter((result) => result.status === 'fulfilled').length, 1, version);
    for (const result of results) if (result.status === 'rejected') t.true(isRegistryError(result.reason, 'VERSION_EXISTS'));
  }
  t.is(await one.count(), 5);
  t.like(await other.stats(), { versions: 5, distinctDigests: 5 });
});

postgresTest('PostgresIndex: withDigestLock excludes a holder in another instance', async (t) => {
  const url = await freshDatabase();
  const [one, other] = [await openIndex(t, url), await openIndex(t, url)];
  const digest = newDigest();
  const events: string[] = [];
  let release!: () => void;
  const holding = new Promise<void>((resolve) => (release = resolve));
  let entered!: () => void;
  const oneIn = new Promise<void>((resolve) => (entered = resolve));
  const first = one.withDigestLock(digest, async () => {
    events.push('one in');
    entered();
    await holding;
    events.push('one out');
  });
  await oneIn;
  // The other instance's holder of another digest is not held up.
  await other.withDigestLock(newDigest(), async () => undefined);
  const second = other.withDigestLock(digest, async () => void events.push('other in'));
  // Both instances' lock connections last asked for a lock: the other one has tried (and retries).
  await waitFor(async () => {
    const sessions = await query<{ query: string }>(url, "SELECT query FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'spore-registry digest locks'");
    return sessions.length === 2 && sessions.every((session) => session.query.includes('pg_try_advisory_lock'));
  });
  t.deepEqual(events, ['one in']);
  release();
  await Promise.all([first, second]);
  t.deepEqual(events, ['one in', 'one out', 'other in']);
});

postgresTest('PostgresIndex: work under digest locks uses the pool without starving it', async (t) => {
  const index = await openIndex(t, await freshDatabase(), { poolSize: 2 });
  const digests = Array.from({ length: 4 }, newDigest);
  await Promise.all(
    Array.from({ length: 20 }, (_, i) =>
      index.withDigestLock(digests[i % 4]!, async () => {
        await index.isReferenced(digests[i % 4]!);
        await index.insert(record('base', `1.0.${i}`, { digest: digests[i % 4]! }));
      }),
    ),
  );
  t.like(await index.stats(), { versions: 20, distinctDigests: 4 });
});

postgresTest('PostgresIndex: while PostgreSQL restarts, writes and unknown reads are UNAVAILABLE, known reads answer; then writes work by themselves', async (t) => {
  const server = await privatePostgres(t);
  const url = await freshDatabase(server);
  const index = await openIndex(t, url);
  const other = await openIndex(t, url);
  const heard = hear(index);
  const known = record('base', '1.0.0', { labels: { channel: 'stable' } });
  await index.insert(known);
  await waitFor(async () => (await other.find('base', '1.0.0')) !== undefined);
  const digest = known.digest;
  // What a device's update check and download read, read once while the database is up.
  t.deepEqual(await index.find('base', '1.0.0'), known);
  const latest = await index.list({ name: 'base', labels: [['channel', 'stable']], releasesOnly: true }, 1);
  t.truthy(await index.firstPublished(digest));

  await server.pause();
  t.true(unavailable(await t.throwsAsync(index.insert(record('base', '2.0.0')))), 'insert');
  t.true(unavailable(await t.throwsAsync(index.relabel('base', '1.0.0', {}))), 'relabel');
  t.true(unavailable(await t.throwsAsync(index.remove('base', '1.0.0'))), 'remove');
  t.true(unavailable(await t.throwsAsync(index.count())), 'count (health)');
  t.true(unavailable(await t.throwsAsync(index.find('base', '9.9.9'))), 'a read never made');
  t.true(unavailable(await t.throwsAsync(index.withDigestLock(newDigest(), async () => 'unprotected'))), 'no lock, no work');
  t.deepEqual(await index.find('base', '1.0.0'), known);
  t.deepEqual(await index.list({ name: 'base', labels: [['channel', 'stable']], releasesOnly: true }, 1), latest);
  t.truthy(await index.firstPublished(digest));
  t.false(heard.includes(undefined), 'nothing is forgotten while the database is away');

  await server.resume();
  await waitFor(async () => index.insert(record('base', '2.0.0')).then(
    () => true,
    (error: unknown) => {
      if (!unavailable(error)) throw error;
      return false;
    },
  ));
  t.is((await index.find('base', '2.0.0'))?.version, '2.0.0');
  t.is(await index.count(), 2);
  await waitFor(() => heard.includes(undefined)); // the LISTEN connection came back: anything may have changed
  t.is(await index.withDigestLock(digest, async () => 'locked again'), 'locked again');
  // The other instance, open all along, hears of a removal after the restart.
  t.deepEqual(await other.find('base', '1.0.0'), known);
  const removed = Date.now();
  await index.remove('base', '1.0.0');
  await waitFor(async () => (await other.find('base', '1.0.0')) === undefined);
  t.log(`a removal after the restart reached the other instance after ${Date.now() - removed} ms`);
});

postgresTest('PostgresIndex: a database that stops answering makes count (health) UNAVAILABLE soon; known reads answer', async (t) => {
  const server = await privatePostgres(t);
  const index = await openIndex(t, await freshDatabase(server));
  await index.insert(record('base', '1.0.0'));
  t.is((await index.find('base', '1.0.0'))?.version, '1.0.0');
  const resume = await server.freeze();
  t.teardown(resume);
  const asked = Date.now();
  const error = await t.throwsAsync(index.count());
  t.log(`count rejected after ${Date.now() - asked} ms`);
  t.true(unavailable(error), String(error));
  t.is((await index.find('base', '1.0.0'))?.version, '1.0.0');
  await resume();
  await waitFor(() => index.count().then(() => true, () => false));
  t.is(await index.count(), 1);
});

postgresTest('PostgresIndex: a notification out of sequence, or not one of ours, means anything may have changed', async (t) => {
  const url = await freshDatabase();
  const index = await openIndex(t, url, { changePollMs: 600_000 });
  const heard = hear(index);
  await index.insert(record('base', '1.0.0'));
  t.false(heard.includes(undefined));
  const digest = newDigest();
  await query(url, "SELECT pg_notify('spore_index', $1)", [JSON.stringify({ seq: 1000, name: 'base', version: '9.0.0', digest })]);
  await waitFor(() => heard.includes(undefined));
  t.true(heard.some((change) => change?.version === '9.0.0'), 'the change itself is passed on too');
  heard.length = 0;
  await query(url, "SELECT pg_notify('spore_index', 'hello')");
  await waitFor(() => heard.includes(undefined));
});

postgresTest('PostgresIndex: the read cache keeps the most recently used reads, up to its size', async (t) => {
  const server = await privatePostgres(t);
  const index = await openIndex(t, await freshDatabase(server), { readCacheEntries: 2 });
  for (const version of ['1.0.0', '2.0.0', '3.0.0']) await index.insert(record('base', version));
  // 1.0.0 is read again after 2.0.0, so 2.0.0 is the one the third read drops.
  for (const version of ['1.0.0', '2.0.0', '1.0.0', '3.0.0']) t.truthy(await index.find('base', version));
  await server.pause();
  t.truthy(await index.find('base', '1.0.0'));
  t.truthy(await index.find('base', '3.0.0'));
  t.true(unavailable(await t.throwsAsync(index.find('base', '2.0.0'))), 'the least recently used read was dropped');
  await server.resume();
});
