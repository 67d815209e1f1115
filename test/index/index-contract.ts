import test, { type ExecutionContext } from 'ava';
import type { Digest } from '../../src/digest.js';
import { isRegistryError } from '../../src/errors.js';
import type { ChangeNotice, FirmwareIndex, FirmwareRecord } from '../../src/index/firmware-index.js';
import { firmwareBytes, sha256 } from '../helpers/fixtures.js';

/** ava's `test`, or `test.skip` where the index's engine cannot run here. */
type Register = (title: string, implementation: (t: ExecutionContext) => Promise<void>) => void;

/** Opens an empty index for one test and closes it when the test ends. */
export type OpenIndex = (t: ExecutionContext) => Promise<FirmwareIndex>;

export function newDigest(): Digest {
  return sha256(firmwareBytes(32));
}

/** A version as the registry would insert it; `at` orders creation times within a test. */
export function record(name: string, version: string, overrides: Partial<FirmwareRecord> & { at?: number } = {}): FirmwareRecord {
  const { at = 0, ...rest } = overrides;
  return {
    name,
    version,
    size: 4096,
    digest: newDigest(),
    labels: { app: name },
    createdAt: new Date(Date.UTC(2026, 0, 1, 0, 0, 0, at)).toISOString(),
    ...rest,
  };
}

const versionsOf = (records: FirmwareRecord[]) => records.map((found) => found.version);

/**
 * The behaviour every FirmwareIndex implementation must show (src/index/firmware-index.ts):
 * the embedded index and the PostgreSQL index run these same cases. Cases are registered with
 * `register`.
 */
export function indexContract(implementation: string, open: OpenIndex, register: Register = test): void {
  const contract = (title: string, body: (t: ExecutionContext, index: FirmwareIndex) => Promise<void>) =>
    register(`${implementation}: ${title}`, async (t) => body(t, await open(t)));

  contract('a version round-trips with its labels, digest, size and time', async (t, index) => {
    const written = record('base', '1.0.0', { size: 5_000_000_000, labels: { app: 'base', 'hw/rev': 'esp32-c3' } });
    await index.insert(written);
    t.deepEqual(await index.find('base', '1.0.0'), written);
    t.is(await index.find('base', '2.0.0'), undefined);
    t.is(await index.find('other', '1.0.0'), undefined);
  });

  contract('a second insert of a name and version is VERSION_EXISTS, whatever its bytes, and changes nothing', async (t, index) => {
    const first = record('base', '1.0.0');
    await index.insert(first);
    const error = await t.throwsAsync(index.insert(record('base', '1.0.0', { labels: { app: 'other' } })));
    t.true(isRegistryError(error, 'VERSION_EXISTS'), String(error));
    t.deepEqual(await index.find('base', '1.0.0'), first);
    t.is(await index.count(), 1);
    t.deepEqual(await index.list({ labels: [['app', 'other']] }), []);
  });

  contract('concurrent inserts of one version: exactly one succeeds', async (t, index) => {
    const results = await Promise.allSettled(Array.from({ length: 6 }, (_, i) => index.insert(record('base', '1.0.0', { at: i }))));
    t.is(results.filter((result) => result.status === 'fulfilled').length, 1);
    for (const result of results) if (result.status === 'rejected') t.true(isRegistryError(result.reason, 'VERSION_EXISTS'));
    t.is(await index.count(), 1);
  });

  contract('versions sort by SemVer precedence, highest first: numbers by value, pre-releases below their release', async (t, index) => {
    const ordered = ['1.10.0', '1.9.0', '1.2.0', '1.2.0-rc.2', '1.2.0-rc.1', '1.2.0-beta.11', '1.2.0-beta.2', '1.2.0-beta', '1.2.0-alpha.beta', '1.2.0-alpha.1', '1.2.0-alpha', '0.10.0', '0.9.10'];
    // Inserted in an order that is neither the answer nor its reverse.
    for (const [i, version] of [...ordered].sort().entries()) await index.insert(record('base', version, { at: i }));
    t.deepEqual(versionsOf(await index.list({ name: 'base' })), ordered);
  });

  contract('build metadata does not count for precedence: equal versions, newest first', async (t, index) => {
    await index.insert(record('base', '2.0.0+build.2', { at: 1 }));
    await index.insert(record('base', '2.0.0+build.10', { at: 3 }));
    await index.insert(record('base', '2.0.0+build.1', { at: 2 }));
    await index.insert(record('base', '1.0.0+zzz', { at: 4 }));
    t.deepEqual(versionsOf(await index.list({ name: 'base' })), ['2.0.0+build.10', '2.0.0+build.1', '2.0.0+build.2', '1.0.0+zzz']);
  });

  contract('a list without a name sorts by name first (byte order), then precedence', async (t, index) => {
    for (const [name, version] of [['beta', '1.0.0'], ['alpha', '1.0.0'], ['Zulu', '1.0.0'], ['alpha', '2.0.0'], ['a-b', '1.0.0']] as const) await index.insert(record(name, version));
    t.deepEqual(
      (await index.list()).map((found) => `${found.name}@${found.version}`),
      ['Zulu@1.0.0', 'a-b@1.0.0', 'alpha@2.0.0', 'alpha@1.0.0', 'beta@1.0.0'],
    );
  });

  contract('label filters are ANDed, with and without a name', async (t, index) => {
    await index.insert(record('base', '1.0.0', { labels: { board: 'c3', channel: 'stable' } }));
    await index.insert(record('base', '1.1.0', { labels: { board: 'c3', channel: 'beta' } }));
    await index.insert(record('base', '1.2.0', { labels: { board: 's3', channel: 'stable' } }));
    await index.insert(record('other', '9.0.0', { labels: { board: 'c3', channel: 'stable' } }));
    t.deepEqual(versionsOf(await index.list({ name: 'base', labels: [['board', 'c3']] })), ['1.1.0', '1.0.0']);
    t.deepEqual(versionsOf(await index.list({ name: 'base', labels: [['board', 'c3'], ['channel', 'stable']] })), ['1.0.0']);
    t.deepEqual(versionsOf(await index.list({ labels: [['board', 'c3'], ['channel', 'stable']] })), ['1.0.0', '9.0.0'], 'base, then other');
    t.deepEqual(await index.list({ labels: [['board', 'c3'], ['board', 's3']] }), []);
    t.deepEqual(await index.list({ labels: [['board', 'C3']] }), [], 'values match exactly');
  });

  contract('releasesOnly leaves out pre-releases, not versions with a dash in their build metadata', async (t, index) => {
    for (const version of ['1.0.0', '1.1.0-rc.1', '1.1.0-rc.2+build', '1.0.1+build-7']) await index.insert(record('base', version));
    t.deepEqual(versionsOf(await index.list({ name: 'base', releasesOnly: true })), ['1.0.1+build-7', '1.0.0']);
    t.deepEqual(versionsOf(await index.list({ name: 'base' })), ['1.1.0-rc.2+build', '1.1.0-rc.1', '1.0.1+build-7', '1.0.0']);
  });

  contract('limit keeps the first versions in order: limit 1 is the latest', async (t, index) => {
    for (const version of ['1.0.0', '3.0.0-rc.1', '2.0.0']) await index.insert(record('base', version));
    t.deepEqual(versionsOf(await index.list({ name: 'base' }, 1)), ['3.0.0-rc.1']);
    t.deepEqual(versionsOf(await index.list({ name: 'base', releasesOnly: true }, 1)), ['2.0.0']);
    t.deepEqual(versionsOf(await index.list({ name: 'base' }, 2)), ['3.0.0-rc.1', '2.0.0']);
    t.deepEqual(await index.list({ name: 'base' }, 0), []);
  });

  contract('a version filter finds one version', async (t, index) => {
    await index.insert(record('base', '1.0.0'));
    await index.insert(record('base', '1.1.0'));
    t.deepEqual(versionsOf(await index.list({ name: 'base', version: '1.1.0' })), ['1.1.0']);
    t.deepEqual(await index.list({ name: 'base', version: '9.9.9' }), []);
  });

  contract('relabel replaces the labels: filters follow the new ones, not the old', async (t, index) => {
    await index.insert(record('base', '1.0.0', { labels: { channel: 'beta', board: 'c3' } }));
    t.is((await index.list({ labels: [['channel', 'beta']] })).length, 1, 'read once before, so a cache would hold it');
    await index.relabel('base', '1.0.0', { channel: 'stable' });
    t.deepEqual((await index.find('base', '1.0.0'))?.labels, { channel: 'stable' });
    t.deepEqual(await index.list({ labels: [['channel', 'beta']] }), []);
    t.deepEqual(await index.list({ labels: [['board', 'c3']] }), []);
    t.deepEqual(versionsOf(await index.list({ labels: [['channel', 'stable']] })), ['1.0.0']);
    await index.relabel('base', '1.0.0', {});
    t.deepEqual((await index.find('base', '1.0.0'))?.labels, {});
  });

  contract('relabel and remove of an absent version are NOT_FOUND and change nothing', async (t, index) => {
    await index.insert(record('base', '1.0.0'));
    t.true(isRegistryError(await t.throwsAsync(index.relabel('base', '2.0.0', { a: 'b' })), 'NOT_FOUND'));
    t.true(isRegistryError(await t.throwsAsync(index.remove('base', '2.0.0')), 'NOT_FOUND'));
    t.true(isRegistryError(await t.throwsAsync(index.remove('other', '1.0.0')), 'NOT_FOUND'));
    t.is(await index.count(), 1);
    await index.remove('base', '1.0.0');
    t.true(isRegistryError(await t.throwsAsync(index.remove('base', '1.0.0')), 'NOT_FOUND'), 'removed twice');
  });

  contract('remove takes a version out of find and list; its name and version can be used again', async (t, index) => {
    await index.insert(record('base', '1.0.0'));
    await index.insert(record('base', '2.0.0', { labels: { channel: 'stable' } }));
    t.deepEqual(versionsOf(await index.list({ name: 'base' })), ['2.0.0', '1.0.0'], 'read once before, so a cache would hold it');
    t.truthy(await index.find('base', '2.0.0'));
    await index.remove('base', '2.0.0');
    t.is(await index.find('base', '2.0.0'), undefined);
    t.deepEqual(versionsOf(await index.list({ name: 'base' })), ['1.0.0']);
    t.deepEqual(await index.list({ labels: [['channel', 'stable']] }), []);
    const again = record('base', '2.0.0');
    await index.insert(again);
    t.deepEqual(await index.find('base', '2.0.0'), again);
  });

  contract('firstPublished is the size and earliest time of any version naming the digest', async (t, index) => {
    const digest = newDigest();
    t.is(await index.firstPublished(digest), undefined);
    await index.insert(record('base', '1.1.0', { digest, size: 77, at: 20 }));
    await index.insert(record('base', '1.0.0', { digest, size: 77, at: 10 }));
    await index.insert(record('other', '1.0.0', { size: 77, at: 5 }));
    t.deepEqual(await index.firstPublished(digest), { size: 77, createdAt: record('x', '1.0.0', { at: 10 }).createdAt });
    await index.remove('base', '1.0.0');
    t.deepEqual(await index.firstPublished(digest), { size: 77, createdAt: record('x', '1.0.0', { at: 20 }).createdAt });
    await index.remove('base', '1.1.0');
    t.is(await index.firstPublished(digest), undefined);
  });

  contract('isReferenced holds while any version names the digest, and not after the last is removed', async (t, index) => {
    const digest = newDigest();
    t.false(await index.isReferenced(digest));
    await index.insert(record('base', '1.0.0', { digest }));
    await index.insert(record('base', '1.0.1', { digest }));
    t.true(await index.isReferenced(digest));
    await index.remove('base', '1.0.0');
    t.true(await index.isReferenced(digest));
    await index.remove('base', '1.0.1');
    t.false(await index.isReferenced(digest));
  });

  contract('stats count versions, distinct digests, logical and stored bytes; count is the versions', async (t, index) => {
    t.deepEqual(await index.stats(), { versions: 0, distinctDigests: 0, logicalBytes: 0, storedBytes: 0 });
    t.is(await index.count(), 0);
    const shared = newDigest();
    await index.insert(record('base', '1.0.0', { digest: shared, size: 100 }));
    await index.insert(record('base', '1.0.1', { digest: shared, size: 100 }));
    await index.insert(record('other', '1.0.0', { size: 30 }));
    t.deepEqual(await index.stats(), { versions: 3, distinctDigests: 2, logicalBytes: 230, storedBytes: 130 });
    t.is(await index.count(), 3);
    await index.remove('base', '1.0.0');
    t.deepEqual(await index.stats(), { versions: 2, distinctDigests: 2, logicalBytes: 130, storedBytes: 130 });
    await index.remove('base', '1.0.1');
    t.deepEqual(await index.stats(), { versions: 1, distinctDigests: 1, logicalBytes: 30, storedBytes: 30 });
    await t.throwsAsync(index.insert(record('other', '1.0.0', { size: 999 })));
    t.deepEqual(await index.stats(), { versions: 1, distinctDigests: 1, logicalBytes: 30, storedBytes: 30 }, 'a refused insert counts nothing');
    t.is(await index.count(), 1);
  });

  contract('onChange hears each change by the time it resolves, and stops when asked', async (t, index) => {
    const heard: (ChangeNotice | undefined)[] = [];
    const stop = index.onChange((change) => heard.push(change));
    await index.insert(record('base', '1.0.0'));
    t.true(heard.some((change) => change?.name === 'base' && change.version === '1.0.0'), 'insert');
    heard.length = 0;
    await index.relabel('base', '1.0.0', { channel: 'stable' });
    t.true(heard.some((change) => change?.name === 'base' && change.version === '1.0.0'), 'relabel');
    heard.length = 0;
    await index.remove('base', '1.0.0');
    t.true(heard.some((change) => change?.name === 'base' && change.version === '1.0.0'), 'remove');
    await t.throwsAsync(index.remove('base', '1.0.0'));
    stop();
    heard.length = 0;
    await index.insert(record('base', '2.0.0'));
    t.deepEqual(heard, [], 'not after stop');
  });

  contract('withDigestLock runs one holder of a digest at a time, and other digests freely', async (t, index) => {
    const digest = newDigest();
    const events: string[] = [];
    let releaseFirst!: () => void;
    const firstHolds = new Promise<void>((resolve) => (releaseFirst = resolve));
    let firstEntered!: () => void;
    const entered = new Promise<void>((resolve) => (firstEntered = resolve));
    const first = index.withDigestLock(digest, async () => {
      events.push('first in');
      firstEntered();
      await firstHolds;
      events.push('first out');
      return 1;
    });
    await entered;
    const second = index.withDigestLock(digest, async () => {
      events.push('second in');
      return 2;
    });
    // Another digest is not held up by the first holder: it finishes while the first still holds.
    t.is(await index.withDigestLock(newDigest(), async () => 'other'), 'other');
    t.deepEqual(events, ['first in']);
    releaseFirst();
    t.deepEqual(await Promise.all([first, second]), [1, 2]);
    t.deepEqual(events, ['first in', 'first out', 'second in']);
  });

  contract('withDigestLock: work can use the index, and a failing work releases the lock', async (t, index) => {
    const digest = newDigest();
    const inserted = await index.withDigestLock(digest, async () => {
      await index.insert(record('base', '1.0.0', { digest }));
      return index.isReferenced(digest);
    });
    t.true(inserted);
    await t.throwsAsync(index.withDigestLock(digest, async () => Promise.reject(new Error('work failed'))), { message: 'work failed' });
    t.is(await index.withDigestLock(digest, async () => 'again'), 'again');
  });
}
