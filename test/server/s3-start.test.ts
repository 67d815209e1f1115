import fs from 'node:fs/promises';
import { ceph, cephTest } from '../helpers/ceph.js';
import { startRegistry } from '../helpers/registry-server.js';
import { cli } from '../helpers/run-cli.js';
import { s3Env, storeEnv } from '../helpers/stores.js';
import { tempDir } from '../helpers/temp-dir.js';

cephTest('s3 start: a bucket that does not exist stops start-up in one line, exit 1, creating nothing', async (t) => {
  const rgw = await ceph();
  const cwd = await tempDir(t);
  const result = await cli(['serve', '--port', '0', '--host', '127.0.0.1'], { cwd, env: s3Env(rgw, 'no-such-bucket') });
  t.is(result.code, 1);
  t.regex(result.stderr, /^spore-registry: cannot use bucket no-such-bucket at http:\/\/127\.0\.0\.1:\d+: the bucket does not exist \(\w+\)\n$/);
  t.deepEqual(await fs.readdir(cwd), []);
});

cephTest('s3 start: refused credentials stop start-up in one line, exit 1', async (t) => {
  const env = await storeEnv('s3');
  const cwd = await tempDir(t);
  const result = await cli(['serve', '--port', '0', '--host', '127.0.0.1'], { cwd, env: { ...env, AWS_SECRET_ACCESS_KEY: 'not-the-secret' } });
  t.is(result.code, 1);
  t.regex(result.stderr, /^spore-registry: cannot use bucket t-[\w-]+ at .*: the credentials are refused \(\w+\)\n$/);
});

cephTest('s3 start: every configuration problem is reported at once, before the store is asked', async (t) => {
  const result = await cli(['serve'], { cwd: await tempDir(t), env: { BLOB_STORE: 's3', S3_FORCE_PATH_STYLE: 'maybe', PORT: 'x' } });
  t.is(result.code, 1);
  for (const key of ['PORT', 'S3_BUCKET', 'S3_FORCE_PATH_STYLE']) t.regex(result.stderr, new RegExp(`- ${key}`));
});

cephTest('s3 health: 200 while the bucket answers; the version tree is off and nothing is written to the data folder', async (t) => {
  const registry = await startRegistry(t, await storeEnv('s3'));
  t.is((await registry.publish({ name: 'base', version: '1.0.0' }, Buffer.from('firmware'))).status, 201);
  t.deepEqual((await registry.get('/health')).json(), { status: 'ok', versions: 1 });
  await t.throwsAsync(fs.access(registry.dataDir), { code: 'ENOENT' });
});
