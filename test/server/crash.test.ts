import fs from 'node:fs/promises';
import path from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { firmwareBytes, sha256 } from '../helpers/fixtures.js';
import { spawnServer } from '../helpers/child-server.js';
import { request } from '../helpers/http.js';
import { firmwareUpload } from '../helpers/multipart.js';
import { tempDir } from '../helpers/temp-dir.js';

interface Attempt {
  version: string;
  bytes: Buffer;
  acknowledged: boolean;
}

/**
 * Publishes concurrently to a server running as its own process, kills it with SIGKILL while
 * publishes are in flight, restarts it on the same data, and checks the promises: every
 * acknowledged publish is listed and downloads with its digest; whatever else is listed is
 * whole (its bytes hash to what was sent); nothing is left in .tmp; the index loads.
 */
async function crashRounds(t: ExecutionContext, rounds: number, burst: { count: number; concurrency: number; size: () => number }) {
  const home = await tempDir(t);
  const attempts: Attempt[] = [];
  for (let round = 0; round < rounds; round++) {
    const server = await spawnServer(t, home);
    const batch = Array.from({ length: burst.count }, (_, i) => ({ version: `${round}.0.${i}`, bytes: firmwareBytes(burst.size()), acknowledged: false }));
    attempts.push(...batch);
    // Kill once a random share of the batch is acknowledged: some done, others in flight.
    const killAt = 1 + Math.floor(Math.random() * (burst.count / 2));
    let acknowledged = 0;
    let next = 0;
    const worker = async () => {
      while (next < batch.length && server.child.exitCode === null && server.child.signalCode === null) {
        const attempt = batch[next++] as Attempt;
        const upload = firmwareUpload({ name: 'crash', version: attempt.version }, attempt.bytes);
        try {
          const answer = await request(`${server.url}/firmware`, {
            method: 'POST',
            headers: { 'Content-Type': upload.contentType, 'Content-Length': upload.body.length },
            body: upload.body,
          });
          attempt.acknowledged = answer.status === 201;
          if (attempt.acknowledged && ++acknowledged === killAt) server.child.kill('SIGKILL');
        } catch {
          return; // killed before it answered: not acknowledged
        }
      }
    };
    await Promise.all(Array.from({ length: burst.concurrency }, worker));
    server.child.kill('SIGKILL');
    await server.exited;
  }

  const server = await spawnServer(t, home);
  const listed = new Map<string, string>(
    (await request(`${server.url}/firmware?name=crash`)).json<{ version: string; sha256: string }[]>().map((row) => [row.version, row.sha256]),
  );
  const acknowledged = attempts.filter((attempt) => attempt.acknowledged);
  t.log(`${attempts.length} publishes, ${acknowledged.length} acknowledged before a kill, ${listed.size} listed after restart`);
  t.true(acknowledged.length > 0, 'some publishes were acknowledged');
  t.true(acknowledged.length < attempts.length, 'some publishes were cut by a kill');
  for (const attempt of acknowledged) t.is(listed.get(attempt.version), sha256(attempt.bytes), `acknowledged ${attempt.version} survives`);
  for (const attempt of attempts.filter((a) => listed.has(a.version))) {
    const download = await request(`${server.url}/firmware/crash/${attempt.version}`);
    t.is(sha256(download.body), sha256(attempt.bytes), `listed ${attempt.version} is whole`);
    const link = await fs.readFile(path.join(home, 'registry', 'crash', attempt.version, 'firmware.bin'));
    t.true(link.equals(attempt.bytes), `the version link of ${attempt.version} is back`);
  }
  t.deepEqual(await fs.readdir(path.join(home, 'registry', '.tmp')), [], '.tmp is empty');
  t.deepEqual((await fs.readdir(home)).filter((name) => name.endsWith('.tmp')), [], 'no index temp file is left');
}

test('crash: SIGKILL during concurrent uploads loses nothing acknowledged and shows nothing partial', async (t) => {
  await crashRounds(t, 4, { count: 16, concurrency: 6, size: () => 100_000 + Math.floor(Math.random() * 900_000) });
});

test('crash: SIGKILL during many small publishes (index persists) keeps the index loadable and true', async (t) => {
  await crashRounds(t, 4, { count: 80, concurrency: 16, size: () => 64 + Math.floor(Math.random() * 512) });
});
