import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { LineWriter } from '../src/line-writer.js';
import { waitFor } from './helpers/wait-for.js';

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
  // Once read again, the writer takes lines again: the first one it takes ends the reading.
  let last: number | undefined;
  const reading = readUntil(readFd, (so) => last !== undefined && so.includes(`{"n":${last},`));
  let written = total;
  while (!writer.write(line(written))) {
    refused++;
    written++;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  last = written;
  const text = await reading;
  const lines = text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as { n?: number; level?: string; dropped?: number });
  const notices = lines.filter((l) => l.dropped !== undefined);
  t.true(notices.length > 0 && notices.every((notice) => notice.level === 'warn'));
  t.is(
    notices.reduce((sum, notice) => sum + notice.dropped!, 0),
    refused,
    'every dropped line counted in a notice',
  );
  const kept = lines.flatMap((l) => (l.n === undefined ? [] : [l.n]));
  t.is(kept.length + refused, written + 1, 'every line written or counted');
  t.deepEqual(kept, [...kept].sort((a, b) => a - b), 'in order');
  t.is(kept.at(-1), written);
});

test('lines arrive whole and in order: multi-byte characters, a line longer than a buffer, many batches', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'line-writer-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'log');
  const fd = fs.openSync(file, 'w');
  t.teardown(() => fs.closeSync(fd));
  const writer = new LineWriter(fd, 16 * 1024, 10);
  const lines = Array.from({ length: 5000 }, (_, n) => `{"n":${n},"path":"/firmware/nœud-${'é'.repeat(n % 97)}/😀${n}"}\n`);
  lines.splice(2500, 0, `{"long":"${'x'.repeat(300 * 1024)}"}\n`);
  for (const [i, line] of lines.entries()) {
    t.true(writer.write(line));
    if (i % 700 === 0) await new Promise((resolve) => setImmediate(resolve));
  }
  const expected = lines.join('');
  await waitFor(() => fs.statSync(file).size === Buffer.byteLength(expected));
  t.is(fs.readFileSync(file, 'utf8'), expected);
});

test('what is still buffered when the process exits is written before it does', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'line-writer-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'log');
  const script = `
    import fs from 'node:fs';
    import { LineWriter } from ${JSON.stringify(new URL('../src/line-writer.js', import.meta.url).href)};
    const writer = new LineWriter(fs.openSync(${JSON.stringify(file)}, 'w'), 1 << 20, 60000);
    for (let n = 0; n < 1000; n++) writer.write('line ' + n + ' ñ\\n');
    process.exit(0);
  `;
  execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: process.cwd() });
  t.is(fs.readFileSync(file, 'utf8'), Array.from({ length: 1000 }, (_, n) => `line ${n} ñ\n`).join(''));
});
