import test from 'ava';
import { ConfigError, loadConfig } from '../src/config/config.js';

test('config: the defaults serve ./registry and ./registry.db on port 3002', (t) => {
  t.deepEqual(loadConfig({}), {
    port: 3002,
    host: '0.0.0.0',
    registryDir: './registry',
    registryDb: './registry.db',
    maxUploadBytes: 1024 ** 3,
    tokens: [],
    tokensFile: undefined,
    publicUrl: undefined,
    trustProxy: false,
    corsOrigins: [],
    maxConcurrentUploads: 16,
    idleTimeoutMs: 60_000,
    headersTimeoutMs: 20_000,
    journalSnapshotBytes: 16 * 1024 ** 2,
    repairTree: 'changed',
    minUploadRate: 64 * 1024,
    uploadRateWindowMs: 30_000,
    blobStore: { kind: 'fs' },
    index: { kind: 'embedded' },
  });
});

test('config: values from the environment, with units and trimming', (t) => {
  const config = loadConfig({
    PORT: '8080',
    MAX_UPLOAD_BYTES: '64M',
    REGISTRY_TOKENS: ' one, two ,,',
    PUBLIC_URL: 'https://fw.example.com/registry/',
    REGISTRY_DIR: '/data/fw',
  });
  t.like(config, { port: 8080, maxUploadBytes: 64 * 1024 ** 2, tokens: ['one', 'two'], publicUrl: 'https://fw.example.com/registry', registryDir: '/data/fw' });
  t.is(loadConfig({ MAX_UPLOAD_BYTES: '2GiB' }).maxUploadBytes, 2 * 1024 ** 3);
  t.is(loadConfig({ MAX_UPLOAD_BYTES: '1000' }).maxUploadBytes, 1000);
  t.is(loadConfig({ PORT: '' }).port, 3002, 'empty means default');
  t.is(loadConfig({ IDLE_TIMEOUT_SECONDS: '0.5' }).idleTimeoutMs, 500);
  t.like(loadConfig({ MIN_UPLOAD_RATE: '1M', MIN_UPLOAD_RATE_WINDOW_SECONDS: '0.25' }), { minUploadRate: 1024 ** 2, uploadRateWindowMs: 250 });
  t.is(loadConfig({ MIN_UPLOAD_RATE: '0' }).minUploadRate, 0, '0 turns the minimum off');
  t.like(loadConfig({ TRUST_PROXY: 'true', CORS_ORIGINS: 'https://ui.example.com, *', REGISTRY_TOKENS_FILE: '/etc/spore/tokens', MAX_CONCURRENT_UPLOADS: '2' }), {
    trustProxy: true,
    corsOrigins: ['https://ui.example.com', '*'],
    tokensFile: '/etc/spore/tokens',
    maxConcurrentUploads: 2,
  });
});

test('config: every problem is reported at once', (t) => {
  const error = t.throws(() => loadConfig({ PORT: '70000', MAX_UPLOAD_BYTES: '0', PUBLIC_URL: 'not a url' }), { instanceOf: ConfigError });
  t.is(error?.problems.length, 3);
  t.throws(() => loadConfig({ PORT: '3.5' }), { instanceOf: ConfigError });
  t.throws(() => loadConfig({ IDLE_TIMEOUT_SECONDS: '0' }), { instanceOf: ConfigError });
  t.throws(() => loadConfig({ IDLE_TIMEOUT_SECONDS: 'soon' }), { instanceOf: ConfigError });
  t.throws(() => loadConfig({ JOURNAL_SNAPSHOT_BYTES: '0' }), { instanceOf: ConfigError });
  t.throws(() => loadConfig({ REPAIR_TREE: 'some' }), { instanceOf: ConfigError });
  t.throws(() => loadConfig({ MAX_UPLOAD_BYTES: '1T' }), { instanceOf: ConfigError });
  t.throws(() => loadConfig({ PUBLIC_URL: 'https://x.example/?q=1' }), { instanceOf: ConfigError });
  t.throws(() => loadConfig({ TRUST_PROXY: 'yes' }), { instanceOf: ConfigError });
  t.throws(() => loadConfig({ CORS_ORIGINS: 'ui.example.com' }), { instanceOf: ConfigError });
  t.throws(() => loadConfig({ MAX_CONCURRENT_UPLOADS: '0' }), { instanceOf: ConfigError });
  t.throws(() => loadConfig({ MIN_UPLOAD_RATE: 'fast' }), { instanceOf: ConfigError });
  t.throws(() => loadConfig({ MIN_UPLOAD_RATE: '-1' }), { instanceOf: ConfigError });
  t.throws(() => loadConfig({ MIN_UPLOAD_RATE_WINDOW_SECONDS: '0' }), { instanceOf: ConfigError });
});

test('config: BLOB_STORE=s3 takes the bucket and its settings; credentials only when both keys are given', (t) => {
  const env = { BLOB_STORE: 's3', S3_BUCKET: 'firmware', S3_ENDPOINT: 'http://127.0.0.1:7480', S3_PREFIX: 'spore/', S3_FORCE_PATH_STYLE: 'true', S3_TEMP_GRACE_SECONDS: '0' };
  t.deepEqual(loadConfig(env).blobStore, {
    kind: 's3',
    s3: { bucket: 'firmware', endpoint: 'http://127.0.0.1:7480', region: 'us-east-1', prefix: 'spore/', forcePathStyle: true, checksums: 'WHEN_REQUIRED' },
    tempGraceMs: 0,
  });
  const keyed = loadConfig({ ...env, AWS_ACCESS_KEY_ID: 'id', AWS_SECRET_ACCESS_KEY: 'secret', S3_REGION: 'eu-west-1', S3_CHECKSUMS: 'WHEN_SUPPORTED' }).blobStore;
  t.like(keyed, { s3: { credentials: { accessKeyId: 'id', secretAccessKey: 'secret' }, region: 'eu-west-1', checksums: 'WHEN_SUPPORTED' } });
  t.like(loadConfig({ BLOB_STORE: 's3', S3_BUCKET: 'firmware' }).blobStore, { tempGraceMs: 3_600_000, s3: { forcePathStyle: false, prefix: '' } });
});

test('config: every problem with the S3 settings is reported with the others', (t) => {
  const s3 = { BLOB_STORE: 's3', S3_ENDPOINT: 'ceph:7480', S3_PREFIX: '/spore', S3_FORCE_PATH_STYLE: 'yes', S3_CHECKSUMS: 'ALWAYS', S3_TEMP_GRACE_SECONDS: 'soon', PORT: 'x' };
  t.is(t.throws(() => loadConfig(s3), { instanceOf: ConfigError })?.problems.length, 7, 'the missing bucket is one of them');
  t.is(t.throws(() => loadConfig({ BLOB_STORE: 's3', S3_BUCKET: 'No_Such' }), { instanceOf: ConfigError })?.problems.length, 1);
  t.is(t.throws(() => loadConfig({ BLOB_STORE: 'disk' }), { instanceOf: ConfigError })?.problems.length, 1);
  t.regex(t.throws(() => loadConfig({ S3_BUCKET: 'firmware' }), { instanceOf: ConfigError })?.message ?? '', /BLOB_STORE/, 'S3 settings without BLOB_STORE=s3');
});
