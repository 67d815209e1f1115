import fs from 'node:fs/promises';
import test from 'ava';
import { firmwareBytes } from '../helpers/fixtures.js';
import { firmwareUpload } from '../helpers/multipart.js';
import { startRegistry } from '../helpers/registry-server.js';
import { listTree } from '../helpers/temp-dir.js';

const META = { name: 'base', version: '1.0.0' };

test('write tokens: with REGISTRY_TOKENS set, publishing needs one of them; reads stay open', async (t) => {
  const registry = await startRegistry(t, { REGISTRY_TOKENS: 'ci-token,other-token' });
  const upload = firmwareUpload(META, firmwareBytes());
  const before = await listTree(registry.home);

  const missing = await registry.post(upload);
  t.is(missing.status, 401);
  t.is(missing.json().error.code, 'UNAUTHORIZED');
  t.regex(String(missing.headers['www-authenticate']), /^Bearer\b/);

  const wrong = await registry.post(upload, { Authorization: 'Bearer ci-token-but-longer' });
  t.is(wrong.status, 403);
  t.is(wrong.json().error.code, 'FORBIDDEN');

  const malformed = await registry.post(upload, { Authorization: 'Basic Y2ktdG9rZW4=' });
  t.is(malformed.status, 401);
  t.deepEqual(await listTree(registry.home), before, 'refused writes leave nothing behind');

  t.is((await registry.post(upload, { Authorization: 'Bearer other-token' })).status, 201);
  t.is((await registry.get('/firmware')).status, 200);
  t.is((await registry.get('/firmware/base/1.0.0')).status, 200);
  t.false(JSON.stringify(registry.logs).includes('other-token'), 'tokens never reach the log');
});

test('write tokens: unset means writes are open, with a warning at start-up', async (t) => {
  const registry = await startRegistry(t);
  t.is((await registry.publish(META, firmwareBytes())).status, 201);
  t.truthy(registry.logs.find((line) => line.level === 'warn' && String(line.msg).includes('REGISTRY_TOKENS')));
  await fs.access(registry.dbFile);
});
