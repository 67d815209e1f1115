import test from 'ava';
import type { Digest } from '../../src/digest.js';
import type { FirmwareRecord } from '../../src/index/firmware-index.js';
import { ReadCache } from '../../src/index/postgres/read-cache.js';

const digest = `sha256:${'a'.repeat(64)}` as Digest;
const record = (name: string, version: string): FirmwareRecord => ({ name, version, size: 1, digest, labels: {}, createdAt: '2026-01-01T00:00:00.000Z' });

test('read cache: a read that overlapped a change of another version is kept; of its own version, not', (t) => {
  const cache = new ReadCache(100);
  const started = cache.epoch;
  cache.forget({ name: 'other', version: '1.0.0' });
  cache.keepFind(started, 'base', '1.0.0', record('base', '1.0.0'));
  t.deepEqual(cache.find('base', '1.0.0')?.value, record('base', '1.0.0'), 'another version changed meanwhile: still true');

  const again = cache.epoch;
  cache.forget({ name: 'base', version: '2.0.0', digest });
  cache.keepFind(again, 'base', '2.0.0', undefined);
  t.is(cache.find('base', '2.0.0'), undefined, 'its own version changed meanwhile: the read may be old');
  cache.keepList(again, { name: 'base' }, undefined, []);
  t.is(cache.list({ name: 'base' }, undefined), undefined, 'a list of the changed name may be old');
  cache.keepList(again, { name: 'other' }, undefined, []);
  t.deepEqual(cache.list({ name: 'other' }, undefined), [], 'a list of another name is not');
  cache.keepFirstPublished(again, digest, undefined);
  t.is(cache.firstPublished(digest), undefined, 'the changed digest may be old');
});

test('read cache: after everything was dropped, or past what it remembers, reads in flight are not kept', (t) => {
  const cache = new ReadCache(100);
  const started = cache.epoch;
  cache.clear();
  cache.keepFind(started, 'base', '1.0.0', undefined);
  t.is(cache.find('base', '1.0.0'), undefined);

  const old = cache.epoch;
  for (let i = 0; i < 300; i++) cache.forget({ name: 'other', version: `1.0.${i}` });
  cache.keepFind(old, 'base', '1.0.0', undefined);
  t.is(cache.find('base', '1.0.0'), undefined, 'too many changes since to judge');
});

test('read cache: "no such version" is trusted only briefly; a version found stays until a change', async (t) => {
  const cache = new ReadCache(100);
  cache.keepFind(cache.epoch, 'base', '1.0.0', undefined);
  cache.keepFind(cache.epoch, 'base', '2.0.0', record('base', '2.0.0'));
  t.like(cache.find('base', '1.0.0'), { value: undefined }, 'answered from memory at first');
  t.not(cache.find('base', '1.0.0'), undefined);
  // The absence expires on its own (a notice lost where the counter cannot tell must not hide
  // a published version for long): wait for that, however long the machine takes.
  while (cache.find('base', '1.0.0') !== undefined) await new Promise((resolve) => setTimeout(resolve, 20));
  t.deepEqual(cache.find('base', '2.0.0')?.value, record('base', '2.0.0'), 'what was found is kept (and served while the database is away)');
});
