import { DeleteObjectCommand } from '@aws-sdk/client-s3';
import { ceph, rawClient } from '../helpers/ceph.js';
import { firmwareBytes, sha256 } from '../helpers/fixtures.js';
import { startRegistry } from '../helpers/registry-server.js';
import { cli } from '../helpers/run-cli.js';
import { storeEnv, storeTest, titled } from '../helpers/stores.js';

// The command line on the shared engines (README, Several instances): fsck and gc read
// DATABASE_URL and the S3 settings as the server does, and run beside instances that serve.
storeTest('s3')(titled('s3', 'fsck and gc on the command line work on PostgreSQL and the bucket while an instance serves'), async (t) => {
  const env = await storeEnv('s3');
  const registry = await startRegistry(t, env);
  const shared = firmwareBytes(30_000);
  const alone = firmwareBytes(20_000);
  for (const [version, bytes] of [['1.0.0', shared], ['1.0.1', shared], ['2.0.0', alone]] as const) {
    t.is((await registry.publish({ name: 'base', version }, bytes)).status, 201);
  }
  const run = { env: { ...env, REGISTRY_DIR: registry.dataDir, REGISTRY_DB: registry.dbFile } };

  const clean = await cli(['fsck'], run);
  t.is(clean.code, 0, clean.stderr);
  t.regex(clean.stderr, /3 versions, 2 blobs.*no damage/);
  const collected = await cli(['gc', '--grace', '0'], run);
  t.is(collected.code, 0, collected.stderr);
  t.regex(collected.stdout, /removed 0 blob/, 'every blob is published: nothing goes');
  t.true((await registry.get('/firmware/base/2.0.0')).body.equals(alone), 'the instance serves on');

  // Bytes lost behind the registry's back (an operator's mistake in the bucket) are damage.
  const client = rawClient(await ceph());
  try {
    await client.send(new DeleteObjectCommand({ Bucket: env.S3_BUCKET, Key: `sha256/${sha256(alone).slice(7)}` }));
  } finally {
    client.destroy();
  }
  const damaged = await cli(['fsck'], run);
  t.is(damaged.code, 1);
  t.regex(damaged.stdout, new RegExp(`^missing blob: base 2\\.0\\.0 is ${sha256(alone)}, which the store does not hold$`, 'm'));
});
