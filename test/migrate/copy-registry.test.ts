import fs from 'node:fs/promises';
import path from 'node:path';
import type { ExecutionContext } from 'ava';
import { EmbeddedIndex } from '../../src/index/embedded-index.js';
import { PostgresIndex } from '../../src/index/postgres/postgres-index.js';
import { silentLogger } from '../../src/log.js';
import { Registry } from '../../src/registry/registry.js';
import { copyRegistry, CopyStopped, type RegistryData } from '../../src/migrate/copy-registry.js';
import type { VersionOutcome } from '../../src/migrate/copy-version.js';
import { s3Store } from '../helpers/ceph.js';
import { firmwareBytes, sha256 } from '../helpers/fixtures.js';
import { freshDatabase, privatePostgres } from '../helpers/postgres.js';
import { STORES, storeTest, type Register, type StoreKind } from '../helpers/stores.js';
import { tempDir } from '../helpers/temp-dir.js';
import { clusterTest } from './cluster-test.js';
import { allRecords, flipByte, openLocal, publishAll, readBlob, releases, storedDigests, type LocalRegistry } from './local-registry.js';

/**
 * The targets a registry is copied into: an embedded registry in a folder of its own (blobs
 * in the folder, or in S3), and a cluster's PostgreSQL database with blobs in S3.
 */
type TargetKind = StoreKind | 'postgres';
const TARGETS: readonly TargetKind[] = [...STORES, 'postgres'];

function targetTest(kind: TargetKind): Register {
  return kind === 'postgres' ? clusterTest : storeTest(kind);
}

/** The target in the title: the embedded index beside the folder or beside S3, or PostgreSQL beside S3. */
function targetTitle(kind: TargetKind, title: string): string {
  return `${title} [${kind === 'postgres' ? 'postgresql+s3' : kind === 's3' ? 'embedded+s3' : 'embedded+fs'}]`;
}

/** An empty target of the given kind, closed when the test ends. */
async function emptyTarget(t: ExecutionContext, kind: TargetKind): Promise<RegistryData> {
  if (kind === 'fs') return openLocal(t);
  const index = kind === 'postgres' ? await PostgresIndex.open(await freshDatabase()) : await EmbeddedIndex.open(path.join(await tempDir(t), 'target.db'));
  t.teardown(() => index.close());
  return { index, store: await s3Store(t) };
}

async function sourceWithReleases(t: ExecutionContext): Promise<LocalRegistry> {
  const source = await openLocal(t);
  await publishAll(source.registry, source.store, releases());
  return source;
}

for (const kind of TARGETS) {
  const test = targetTest(kind);
  const title = (text: string) => targetTitle(kind, text);

  test(title('copy: every row, label, date and byte arrives; bytes shared by versions are sent once'), async (t) => {
    const source = await sourceWithReleases(t);
    const target = await emptyTarget(t, kind);
    let lastProgress = [0, 0];
    const report = await copyRegistry(source, target, { onProgress: (done, total) => (lastProgress = [done, total]) });

    const records = await allRecords(source.index);
    t.like(report, { versions: 7, copied: 7, present: 0, conflicts: 0, failed: 0, blobsSent: 5, bytesSent: 5 * 50_000 });
    t.deepEqual(lastProgress, [5 * 50_000, 5 * 50_000]);
    t.deepEqual(await allRecords(target.index), records);
    t.deepEqual(await storedDigests(target.store), await storedDigests(source.store));
    for (const record of records) {
      t.true((await readBlob(target.store, record.digest)).equals(await readBlob(source.store, record.digest)));
      if (target.view) t.true(await target.view.isLinked(record), `${record.name}/${record.version}/firmware.bin`);
    }
    t.deepEqual(await target.index.stats(), await source.index.stats());
  });

  test(title('copy: a second run copies nothing: every version is already present'), async (t) => {
    const source = await sourceWithReleases(t);
    const target = await emptyTarget(t, kind);
    await copyRegistry(source, target);
    const again = await copyRegistry(source, target);
    t.like(again, { versions: 7, copied: 0, present: 7, conflicts: 0, failed: 0, blobsSent: 0, bytesSent: 0 });
    t.deepEqual(await allRecords(target.index), await allRecords(source.index));
  });

  test(title('copy: a version the target has with other bytes is a conflict and stays as it was'), async (t) => {
    const source = await sourceWithReleases(t);
    const target = await emptyTarget(t, kind);
    const theirs = firmwareBytes(1000);
    const targetRegistry = new Registry({ ...target, log: silentLogger });
    await publishAll(targetRegistry, target.store, [{ name: 'relay', version: '3.2.1', labels: { channel: 'canary' }, createdAt: '2025-01-01T00:00:00.000Z', bytes: theirs }]);

    const outcomes: VersionOutcome[] = [];
    const report = await copyRegistry(source, target, { onOutcome: (outcome) => outcomes.push(outcome) });
    t.like(report, { copied: 6, conflicts: 1 });
    const conflict = outcomes.find((outcome) => outcome.kind === 'conflict');
    t.like(conflict, { kind: 'conflict', record: { name: 'relay', version: '3.2.1' }, target: sha256(theirs) });
    t.like(await target.index.find('relay', '3.2.1'), { digest: sha256(theirs), labels: { channel: 'canary' }, createdAt: '2025-01-01T00:00:00.000Z' });
    t.true((await readBlob(target.store, sha256(theirs))).equals(theirs));
  });

  test(title('copy: source bytes damaged on disk are refused by their digest; nothing of them is published or kept'), async (t) => {
    const source = await sourceWithReleases(t);
    const damaged = (await source.index.find('relay', '3.2.1'))!;
    await flipByte(source.store, damaged.digest);
    const target = await emptyTarget(t, kind);

    const outcomes: VersionOutcome[] = [];
    const report = await copyRegistry(source, target, { onOutcome: (outcome) => outcomes.push(outcome) });
    t.like(report, { copied: 6, failed: 1 });
    t.like(outcomes.find((outcome) => outcome.kind === 'failed'), { record: { name: 'relay', version: '3.2.1' }, code: 'DIGEST_MISMATCH' });
    t.is(await target.index.find('relay', '3.2.1'), undefined);
    t.false((await storedDigests(target.store)).includes(damaged.digest));
    t.deepEqual(await target.store.listTemp(), []);
  });

  test(title('copy: a blob an interrupted run left unreferenced is adopted, not sent again'), async (t) => {
    const source = await sourceWithReleases(t);
    const target = await emptyTarget(t, kind);
    const record = (await source.index.find('base', '1.0.0'))!;
    await target.store.put(await source.store.open(record.digest));

    const report = await copyRegistry(source, target);
    t.like(report, { copied: 7, blobsSent: 4, bytesSent: 4 * 50_000 });
    t.deepEqual(await target.index.find('base', '1.0.0'), record);
  });
}

storeTest('fs')('copy: a version whose blob the source lacks is reported, and the rest are copied', async (t) => {
  const source = await sourceWithReleases(t);
  const missing = (await source.index.find('base', '2.0.0-beta.1'))!;
  await source.store.delete(missing.digest);
  const target = await emptyTarget(t, 'fs');
  const outcomes: VersionOutcome[] = [];
  const report = await copyRegistry(source, target, { onOutcome: (outcome) => outcomes.push(outcome) });
  t.like(report, { copied: 6, failed: 1 });
  t.like(outcomes.find((outcome) => outcome.kind === 'failed'), { record: { name: 'base', version: '2.0.0-beta.1' }, code: 'BLOB_UNKNOWN' });
  t.is(await target.index.find('base', '2.0.0-beta.1'), undefined);
});

storeTest('fs')('copy: the same labels are kept when the target relabelled a version, and the difference is told', async (t) => {
  const source = await sourceWithReleases(t);
  const target = await emptyTarget(t, 'fs');
  await copyRegistry(source, target);
  await target.index.relabel('base', '2.0.0-beta.1', { channel: 'stable' });
  const outcomes: VersionOutcome[] = [];
  await copyRegistry(source, target, { onOutcome: (outcome) => outcomes.push(outcome) });
  t.like(outcomes.find((outcome) => outcome.record.version === '2.0.0-beta.1'), { kind: 'present', labelsDiffer: true });
  t.is(outcomes.filter((outcome) => outcome.kind === 'present' && outcome.labelsDiffer).length, 1);
  t.like(await target.index.find('base', '2.0.0-beta.1'), { labels: { channel: 'stable' } });
});

storeTest('fs')('copy: a target that goes away stops the copy once the work in flight has ended, saying how far it got', async (t) => {
  const source = await sourceWithReleases(t);
  const target = await emptyTarget(t, 'fs');
  const outcomes: VersionOutcome[] = [];
  let closed: Promise<void> | undefined;
  const stopped = await t.throwsAsync(
    copyRegistry(source, target, {
      concurrency: 2,
      retryPausesMs: [],
      onOutcome: (outcome) => {
        outcomes.push(outcome);
        if (outcomes.length === 1) closed = target.index.close();
      },
    }),
    { instanceOf: CopyStopped },
  );
  t.true(stopped?.cause instanceof Error);
  t.is(stopped?.report.copied, outcomes.length);
  t.true(outcomes.length < 7);
  // Whatever was published before the index closed is in it, and nothing else was tried after.
  await closed;
  const reopened = await EmbeddedIndex.open((target.index as EmbeddedIndex).file);
  t.teardown(() => reopened.close());
  t.is((await reopened.list()).length, outcomes.length);
});

clusterTest('copy: a database that is away when the copy begins is waited for, and the copy completes [postgresql+s3]', async (t) => {
  const source = await sourceWithReleases(t);
  const server = await privatePostgres(t);
  const index = await PostgresIndex.open(await freshDatabase(server));
  t.teardown(() => index.close());
  const target: RegistryData = { index, store: await s3Store(t) };

  await server.pause();
  const copying = copyRegistry(source, target, { concurrency: 1, retryPausesMs: Array.from({ length: 120 }, () => 250) });
  await server.resume();
  t.like(await copying, { versions: 7, copied: 7, blobsSent: 5 });
  t.deepEqual(await allRecords(index), await allRecords(source.index));
});

storeTest('fs')('copy: source bytes cut short on disk are refused by their size, and the reason names the source', async (t) => {
  const source = await sourceWithReleases(t);
  const cut = (await source.index.find('sensor', '0.9.0'))!;
  await fs.truncate(source.store.pathOf(cut.digest), cut.size - 1);
  const target = await emptyTarget(t, 'fs');
  const outcomes: VersionOutcome[] = [];
  const report = await copyRegistry(source, target, { onOutcome: (outcome) => outcomes.push(outcome) });
  // Both versions naming those bytes are refused; the bytes were read once for each.
  t.like(report, { copied: 5, failed: 2, blobsSent: 4 });
  const failed = outcomes.filter((outcome) => outcome.kind === 'failed');
  t.deepEqual(failed.map((outcome) => `${outcome.record.name} ${outcome.record.version}`).sort(), ['sensor 0.9.0', 'sensor 1.0.0']);
  t.like(failed[0], { code: 'SIZE_MISMATCH', reason: `the source's bytes are ${cut.size - 1} bytes long, not ${cut.size}: they are damaged` });
  t.deepEqual(await target.store.listTemp(), []);
});
