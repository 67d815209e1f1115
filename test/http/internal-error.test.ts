import fs from 'node:fs/promises';
import path from 'node:path';
import test from 'ava';
import { firmwareBytes, sha256 } from '../helpers/fixtures.js';
import { startRegistry } from '../helpers/registry-server.js';

test('an unexpected failure is logged with its cause and answered 500 without internals', async (t) => {
  const registry = await startRegistry(t);
  const bytes = firmwareBytes();
  // Sabotage the store: the blob's shard folder is a file, so linking the blob fails (ENOTDIR).
  const shard = path.join(registry.dataDir, '.blobs', 'sha256', sha256(bytes).slice(7, 9));
  await fs.writeFile(shard, 'not a folder');

  const answer = await registry.publish({ name: 'base', version: '1.0.0' }, bytes);

  t.is(answer.status, 500);
  t.deepEqual(Object.keys(answer.json().error).sort(), ['code', 'message']);
  t.is(answer.json().error.code, 'INTERNAL');
  t.notRegex(answer.body.toString(), /ENOTDIR|\/tmp\/|\.blobs|at .*:\d+/, 'no cause, path or stack in the answer');
  const logged = registry.logs.find((line) => line.msg === 'unexpected error');
  t.like(logged, { level: 'error', method: 'POST', path: '/firmware', err: { code: 'ENOTDIR' } });
  t.deepEqual(await fs.readdir(path.join(registry.dataDir, '.tmp')), [], 'the staged upload is gone');
  t.deepEqual((await registry.get('/firmware')).json(), [], 'nothing was published');
});
