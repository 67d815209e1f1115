import fs from 'node:fs/promises';
import { readlinkSync, readSync } from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { DescriptorCache } from '../../src/cas/descriptor-cache.js';
import { tempDir } from '../helpers/temp-dir.js';

async function files(t: Parameters<typeof tempDir>[0], count: number): Promise<string[]> {
  const dir = await tempDir(t);
  return Promise.all(
    Array.from({ length: count }, async (_, i) => {
      const file = path.join(dir, `f${i}`);
      await fs.writeFile(file, `content ${i}`);
      return file;
    }),
  );
}

/** The file a descriptor of this process is open on, or undefined when it is closed. */
function openedAs(fd: number): string | undefined {
  try {
    return readlinkSync(`/proc/self/fd/${fd}`);
  } catch {
    return undefined;
  }
}

function readAll(fd: number): string {
  const buffer = Buffer.alloc(64);
  return buffer.subarray(0, readSync(fd, buffer, 0, 64, 0)).toString();
}

test('descriptors: one descriptor serves every lease of a file, and stays open for the next', async (t) => {
  const [file] = await files(t, 1);
  const cache = new DescriptorCache(4);
  const [a, b] = await Promise.all([cache.acquire(file as string), cache.acquire(file as string)]);
  t.is(a.fd, b.fd);
  a.release();
  b.release();
  const c = await cache.acquire(file as string);
  t.is(c.fd, a.fd);
  t.is(readAll(c.fd), 'content 0');
  c.release();
});

test('descriptors: idle ones beyond capacity are closed, least recently used first; leased ones never', async (t) => {
  const paths = await files(t, 4);
  const cache = new DescriptorCache(2);
  const held = await cache.acquire(paths[0] as string);
  for (const file of paths.slice(1)) (await cache.acquire(file)).release();
  t.is(cache.size, 2, 'the leased one and the most recent idle one');
  t.is(readAll(held.fd), 'content 0', 'the leased descriptor is still open');
  held.release();
});

test('descriptors: forget stops reuse and closes once the last lease is back', async (t) => {
  const [file] = await files(t, 1);
  const cache = new DescriptorCache(4);
  const lease = await cache.acquire(file as string);
  cache.forget(file as string);
  t.is(readAll(lease.fd), 'content 0', 'still readable while leased');
  const fresh = await cache.acquire(file as string);
  t.not(fresh.fd, lease.fd, 'a new descriptor after forget');
  lease.release();
  lease.release();
  // Closed: the number no longer names the file. (Another test may already have been given
  // the same number for its own file, so "EBADF" would be a race, not a check.)
  t.not(openedAs(lease.fd), file, 'the forgotten descriptor is closed');
  t.is(openedAs(fresh.fd), file);
  fresh.release();
});

test('descriptors: a file that is not there rejects with ENOENT and is not cached', async (t) => {
  const cache = new DescriptorCache(4);
  await t.throwsAsync(cache.acquire(path.join(await tempDir(t), 'missing')), { code: 'ENOENT' });
  t.is(cache.size, 0);
});
