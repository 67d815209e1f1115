import { spawnSync } from 'node:child_process';
import fs from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import test from 'ava';
import { spawnServer } from './helpers/child-server.js';
import { firmwareBytes } from './helpers/fixtures.js';
import { request } from './helpers/http.js';
import { firmwareUpload } from './helpers/multipart.js';
import { readmeLine } from './helpers/readme.js';
import { cli } from './helpers/run-cli.js';
import { tempDir } from './helpers/temp-dir.js';
import { waitFor } from './helpers/wait-for.js';

test('cli serve: a port in use is one line, and no data folder or index is created', async (t) => {
  const blocker = net.createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  t.teardown(() => blocker.close());
  const { port } = blocker.address() as net.AddressInfo;
  const dir = await tempDir(t);

  const result = await cli(['serve', '--port', String(port), '--host', '127.0.0.1'], { cwd: dir });
  t.is(result.code, 1);
  t.regex(result.stderr, new RegExp(`^spore-registry: port ${port} on 127\\.0\\.0\\.1 is in use .*--port.*\\n$`));
  t.deepEqual(await fs.readdir(dir), []);
});

test("cli serve: its PID is in registry.db.pid, so the README's kill -HUP reaches it; token counts are logged", async (t) => {
  const dir = await tempDir(t);
  const tokens = path.join(dir, 'tokens');
  await fs.writeFile(tokens, 'alpha\n');
  const server = await spawnServer(t, dir, { REGISTRY_TOKENS: 'from-env', REGISTRY_TOKENS_FILE: tokens });
  const logged = () => server.lines.map((line) => JSON.parse(line) as { msg: string; tokens?: number });
  t.like(logged().find((line) => line.msg === 'spore-registry listening'), { tokens: 2 });
  t.is(await fs.readFile(path.join(dir, 'registry.db.pid'), 'utf8'), `${server.child.pid}\n`);

  await fs.writeFile(tokens, 'alpha\nbeta\ngamma\n');
  const hup = spawnSync('sh', ['-c', readmeLine('### Who may write', 'kill -HUP')], { cwd: dir, encoding: 'utf8' });
  t.is(hup.status, 0, hup.stderr);
  await waitFor(() => logged().some((line) => line.msg === 'write tokens reloaded'));
  t.like(logged().find((line) => line.msg === 'write tokens reloaded'), { tokens: 4 });
  const upload = firmwareUpload({ name: 'base', version: '1.0.0' }, firmwareBytes(100));
  const published = await request(`${server.url}/firmware`, {
    method: 'POST',
    headers: { 'Content-Type': upload.contentType, Authorization: 'Bearer gamma' },
    body: upload.body,
  });
  t.is(published.status, 201, 'the new token writes');

  server.child.kill('SIGTERM');
  t.is(await server.exited, 0);
  await t.throwsAsync(fs.access(path.join(dir, 'registry.db.pid')), undefined, 'a stopped server leaves no PID file');
});
