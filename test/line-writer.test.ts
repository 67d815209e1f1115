import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { LineWriter } from '../src/line-writer.js';

/** Reads `fd` until `done` says the text so far is complete. */
async function readUntil(fd: number, done: (text: string) => boolean): Promise<string> {
  const buffer = Buffer.alloc(1 << 16);
  let text = '';
  while (!done(text)) {
    const bytesRead = await new Promise<number>((resolve, reject) => fs.read(fd, buffer, 0, buffer.length, null, (error, read) => (error ? reject(error) : resolve(read))));
    text += buffer.toString('utf8', 0, bytesRead);
  }
  return text;
}

test('a log destination that stops taking lines keeps a bounded backlog; the lines dropped are counted once it takes lines again', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'line-writer-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const fifo = path.join(dir, 'log');
  execFileSync('mkfifo', [fifo]);
  // Read-write: opening does not wait for a reader, and writes block once the pipe is full
  // (64 KiB): a log whose reader stopped.
  const writeFd = fs.openSync(fifo, 'r+');
  t.teardown(() => fs.closeSync(writeFd));

  const maxPending = 256 * 1024;
  const writer = new LineWriter(writeFd, 16 * 1024, 10, maxPending);
  const line = (n: number) => `{"n":${n},"pad":"${'x'.repeat(100)}"}\n`;
  const total = 20_000; // about 2.4 MiB: far more than the pipe and the backlog hold
  let refused = 0;
  for (let n = 0; n < total; n++) {
    if (!writer.write(line(n))) refused++;
    // Let the writes begin, and block, as they would between requests.
    if (n % 1000 === 0) await new Promise((resolve) => setImmediate(resolve));
  }
  t.true(refused > 0, 'some lines were refused');
  t.true(refused < total - maxPending / line(0).length, 'the backlog held lines up to its bound');

  const readFd = fs.openSync(fifo, 'r');
  t.teardown(() => fs.closeSync(readFd));
  const text = await readUntil(readFd, (so) => so.includes('"msg":"log lines dropped'));
  const lines = text.split('\n').filter((l) => l !== '');
  const notice = JSON.parse(lines.at(-1)!) as { level: string; dropped: number };
  t.is(notice.level, 'warn');
  t.is(notice.dropped, refused);
  const kept = lines.slice(0, -1).map((l) => (JSON.parse(l) as { n: number }).n);
  t.is(kept.length + refused, total, 'every line written or counted');
  t.deepEqual(kept, [...kept].sort((a, b) => a - b), 'in order');

  // Taking lines again, it keeps them all.
  t.true(writer.write(line(total)));
  writer.flush();
  const after = await readUntil(readFd, (so) => so.includes(`"n":${total},`));
  t.true(after.startsWith(`{"n":${total},`));
});
