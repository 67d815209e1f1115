import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { CreateMultipartUploadCommand } from '@aws-sdk/client-s3';
import type { ExecutionContext } from 'ava';
import { DigestHasher, type Digest } from '../../src/digest.js';
import { S3BlobStore } from '../../src/cas/s3-blob-store.js';
import { isRegistryError } from '../../src/errors.js';
import { ceph, cephConfig, cephSerialTest, cephTest, rawClient, s3Store } from '../helpers/ceph.js';
import { firmwareBytes } from '../helpers/fixtures.js';
import { waitFor } from '../helpers/wait-for.js';
import { blobStoreContract } from './blob-store-contract.js';

const MiB = 1 << 20;

blobStoreContract(
  'S3BlobStore',
  async (t) => {
    const store = await s3Store(t);
    return { store, tempEntries: async () => (await store.listTemp()).map((entry) => entry.name) };
  },
  cephTest,
);

// Large bodies are 8 random MiB blocks in turn: big uploads without holding them in memory.
const BLOCKS = Array.from({ length: 8 }, () => firmwareBytes(MiB));
const block = (index: number): Buffer => BLOCKS[index % BLOCKS.length]!;

function largeDigest(mib: number): Digest {
  const hasher = new DigestHasher();
  for (let index = 0; index < mib; index++) hasher.update(block(index));
  return hasher.digest();
}

/** The bytes `start`..`end` (inclusive) of a large body. */
function largeBytes(start: number, end: number): Buffer {
  const parts: Buffer[] = [];
  for (let index = Math.floor(start / MiB); index * MiB <= end; index++) parts.push(block(index));
  const from = Math.floor(start / MiB) * MiB;
  return Buffer.concat(parts).subarray(start - from, end - from + 1);
}

/** True once the store has a multipart upload open (an entry `<key>#<upload id>` in its temp area). */
async function uploadOpen(store: S3BlobStore): Promise<boolean> {
  return (await store.listTemp()).some((entry) => entry.name.includes('#'));
}

async function digestOfStream(stream: Readable): Promise<Digest> {
  const hasher = new DigestHasher();
  for await (const chunk of stream) hasher.update(chunk as Buffer);
  return hasher.digest();
}

async function listAll(store: S3BlobStore): Promise<Digest[]> {
  const digests: Digest[] = [];
  for await (const digest of store.list()) digests.push(digest);
  return digests;
}

// Serial, so that it runs alone (before the concurrent tests) and the RSS it sees is its own.
cephSerialTest('S3BlobStore: a 64 MiB upload goes out in parts while its memory stays bounded', async (t) => {
  const store = await s3Store(t, { partSize: 5 * MiB, partsInFlight: 2 });
  const baseline = process.memoryUsage.rss();
  let peak = baseline;
  let multipart = false;
  async function* body() {
    for (let index = 0; index < 64; index++) {
      if (index === 12) {
        await waitFor(() => uploadOpen(store));
        multipart = true;
      }
      peak = Math.max(peak, process.memoryUsage.rss());
      yield block(index);
    }
  }
  const put = await store.put(Readable.from(body()));
  t.true(multipart, 'a multipart upload was open while the body arrived');
  t.like(put, { digest: largeDigest(64), size: 64 * MiB, deduplicated: false });
  // Part buffers: (partsInFlight + 1) × 5 MiB. The body is 64 MiB: holding it would show.
  t.log(`RSS grew by ${((peak - baseline) / MiB).toFixed(1)} MiB`);
  t.true(peak - baseline < 40 * MiB);
  const boundary = 5 * MiB;
  t.true(largeBytes(boundary - 10, boundary + 9).equals(await store.read(put.digest, { start: boundary - 10, end: boundary + 9 })));
  t.is(await digestOfStream(await store.open(put.digest)), put.digest);
  t.deepEqual(await store.listTemp(), []);
});

cephTest('S3BlobStore: an upload whose client goes away leaves no object and no multipart upload', async (t) => {
  const store = await s3Store(t, { partSize: 5 * MiB });
  async function* body() {
    for (let index = 0; index < 12; index++) yield block(index);
    await waitFor(() => uploadOpen(store));
    throw new Error('client went away');
  }
  await t.throwsAsync(store.put(Readable.from(body())), { message: 'client went away' });
  t.deepEqual(await store.listTemp(), []);
  t.deepEqual(await listAll(store), []);
});

cephTest('S3BlobStore: a client that goes away while a part is on its way: the upload is aborted once that part is answered', async (t) => {
  // A proxy in front of RGW holds the first part until the client has gone away, and notes
  // when each request to the store arrives and is answered.
  const { endpoint, events, partArrived, releasePart } = await holdingProxy(t, (await ceph()).endpoint);
  const store = await S3BlobStore.open(cephConfig(await ceph(), { prefix: `${randomUUID()}/`, endpoint, tuning: { partSize: 5 * MiB, partsInFlight: 1 } }));
  t.teardown(() => store.close());
  const source = new Readable({ read() {} });
  for (let index = 0; index < 6; index++) source.push(block(index));
  const put = store.put(source);
  await partArrived;
  source.destroy(new Error('client went away'));
  releasePart();
  await t.throwsAsync(put, { message: 'client went away' });
  const answered = events.indexOf('part answered');
  t.true(answered >= 0 && answered < events.indexOf('abort arrived'), events.join(', '));
  t.deepEqual(await store.listTemp(), []);
  t.deepEqual(await listAll(store), []);
});

cephTest('S3BlobStore: a refused multipart upload (digest mismatch) leaves no object and no upload', async (t) => {
  const store = await s3Store(t, { partSize: 5 * MiB });
  const declared = largeDigest(3);
  const error = await t.throwsAsync(store.put(Readable.from(Array.from({ length: 12 }, (_, index) => block(index))), { digest: declared }));
  t.true(isRegistryError(error, 'DIGEST_MISMATCH'));
  t.deepEqual(await store.listTemp(), []);
  t.deepEqual(await listAll(store), []);
});

cephTest('S3BlobStore: a commit above multipartCopyAbove is copied in parts, server-side', async (t) => {
  const store = await s3Store(t, { multipartCopyAbove: 5 * MiB, copyPartSize: 5 * MiB });
  const put = await store.put(Readable.from(Array.from({ length: 12 }, (_, index) => block(index))));
  t.like(put, { digest: largeDigest(12), size: 12 * MiB });
  t.like(await store.stat(put.digest), { size: 12 * MiB });
  t.is(await digestOfStream(await store.open(put.digest)), put.digest);
  t.deepEqual(await store.listTemp(), []);
});

cephTest('S3BlobStore: streams and readers cross GET segments without a seam', async (t) => {
  const store = await s3Store(t, { segmentSize: 256 * 1024 });
  const bytes = firmwareBytes(MiB + 12_345);
  const { digest } = await store.put(Readable.from([bytes]));
  t.is(await digestOfStream(await store.open(digest, undefined, { chunkSize: 100_000 })), digest);
  const range = { start: 200_000, end: 900_000 };
  const chunks: Buffer[] = [];
  for await (const chunk of await store.open(digest, range)) chunks.push(chunk as Buffer);
  t.true(bytes.subarray(range.start, range.end + 1).equals(Buffer.concat(chunks)));

  const reader = await store.reader(digest);
  t.teardown(() => reader.close());
  const buffer = Buffer.alloc(300_000);
  for (const position of [0, 300_000, 600_000, 10, bytes.length - 5]) {
    const length = await reader.read(buffer, position);
    t.is(length, Math.min(buffer.length, bytes.length - position));
    t.true(bytes.subarray(position, position + length).equals(buffer.subarray(0, length)), `read at ${position}`);
  }
  t.is(await reader.read(buffer, bytes.length), 0, 'past the end');
});

cephTest('S3BlobStore: sweepTemp removes staged objects and uploads older than the cutoff, and no blob', async (t) => {
  const store = await s3Store(t);
  const kept = await store.put(Readable.from([firmwareBytes()]));
  const staged = await store.stage(Readable.from([firmwareBytes()]));
  const lab = await ceph();
  const client = rawClient(lab);
  t.teardown(() => client.destroy());
  const key = `${store.contentKey(kept.digest).split('sha256/')[0]}tmp/left-by-a-crash`;
  await client.send(new CreateMultipartUploadCommand({ Bucket: lab.bucket, Key: key }));
  t.is((await store.listTemp()).length, 2);

  t.deepEqual(await store.sweepTemp(Date.now() - 60 * 60 * 1000), [], 'young entries stay');
  t.is((await store.sweepTemp(Date.now() + 60 * 1000)).length, 2);
  t.deepEqual(await store.listTemp(), []);
  t.is(await store.stat(staged.digest), undefined);
  t.deepEqual(await listAll(store), [kept.digest]);
});

async function openFails(t: ExecutionContext, overrides: Parameters<typeof cephConfig>[1], reason: string): Promise<void> {
  const error = await t.throwsAsync(S3BlobStore.open(cephConfig(await ceph(), overrides)));
  t.true(isRegistryError(error, 'UNAVAILABLE'), String(error));
  t.like(error, { details: { reason } });
}

cephTest('S3BlobStore: open on a bucket that does not exist is UNAVAILABLE, saying so', async (t) => {
  await openFails(t, { bucket: 'spore-no-such-bucket' }, 'the bucket does not exist');
});

cephTest('S3BlobStore: open with credentials the store refuses is UNAVAILABLE, saying so', async (t) => {
  await openFails(t, { credentials: { accessKeyId: 'SPORENOSUCHKEY000000', secretAccessKey: 'wrong' } }, 'the credentials are refused');
});

cephTest('S3BlobStore: open on an endpoint where nothing listens is UNAVAILABLE, saying so', async (t) => {
  await openFails(t, { endpoint: 'http://127.0.0.1:1' }, 'the object store does not answer');
});

/** A loopback proxy to `target` that holds the first UploadPart until released, closed when the test ends. */
async function holdingProxy(t: ExecutionContext, target: string) {
  const events: string[] = [];
  let releasePart!: () => void;
  const released = new Promise<void>((resolve) => (releasePart = resolve));
  let arrived!: () => void;
  const partArrived = new Promise<void>((resolve) => (arrived = resolve));
  const server = http.createServer((req, res) => {
    const kind = req.method === 'PUT' && /[?&]partNumber=/.test(req.url ?? '') ? 'part' : req.method === 'DELETE' && /[?&]uploadId=/.test(req.url ?? '') ? 'abort' : 'request';
    events.push(`${kind} arrived`);
    const forward = () => {
      const upstream = http.request(new URL(req.url ?? '/', target), { method: req.method, headers: req.headers, agent: false }, (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
        answer.on('end', () => events.push(`${kind} answered`));
      });
      upstream.on('error', () => res.destroy());
      req.pipe(upstream);
    };
    if (kind !== 'part' || events.includes('part answered') || events.filter((event) => event === 'part arrived').length > 1) return forward();
    arrived();
    void released.then(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return { endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, events, partArrived, releasePart };
}
