import path from 'node:path';
import test from 'ava';
import { ConfigError, loadConfig } from '../../src/config/config.js';
import { createLogger } from '../../src/log.js';
import { EmbeddedIndex } from '../../src/index/embedded-index.js';
import { openIndex } from '../../src/index/open-index.js';
import { PostgresIndex } from '../../src/index/postgres/postgres-index.js';
import { freshDatabase, postgresTest } from '../helpers/postgres.js';
import { tempDir } from '../helpers/temp-dir.js';

const quiet = createLogger({ write: () => {} });

function problems(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
    return [];
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return error.problems;
  }
}

test('index config: without DATABASE_URL the index is the embedded one', (t) => {
  t.deepEqual(loadConfig({}).index, { kind: 'embedded' });
});

test('index config: DATABASE_URL selects PostgreSQL, with a pool of 10 unless DATABASE_POOL_SIZE says', (t) => {
  t.deepEqual(loadConfig({ DATABASE_URL: 'postgres://spore@db:5432/spore' }).index, { kind: 'postgres', url: 'postgres://spore@db:5432/spore', poolSize: 10 });
  t.deepEqual(loadConfig({ DATABASE_URL: ' postgresql://db/spore ', DATABASE_POOL_SIZE: '4' }).index, { kind: 'postgres', url: 'postgresql://db/spore', poolSize: 4 });
});

test('index config: a URL of another scheme is a problem, reported without the URL (it may hold a password)', (t) => {
  const found = problems({ DATABASE_URL: 'mysql://root:hunter2@db/spore' });
  t.is(found.length, 1);
  t.regex(found[0]!, /DATABASE_URL must be a postgres:\/\/ or postgresql:\/\/ URL/);
  t.false(found[0]!.includes('hunter2'));
  t.is(problems({ DATABASE_URL: 'not a url' }).length, 1);
});

test('index config: a pool size that is not a whole number from 1 to 1000 is a problem, and so is one without a URL', (t) => {
  for (const size of ['0', '-1', '2.5', 'ten', '1001']) {
    t.regex(problems({ DATABASE_URL: 'postgres://db/spore', DATABASE_POOL_SIZE: size }).join(), /DATABASE_POOL_SIZE must be a whole number from 1 to 1000/, size);
  }
  t.regex(problems({ DATABASE_POOL_SIZE: '4' }).join(), /DATABASE_POOL_SIZE is set, but DATABASE_URL is not/);
  t.is(problems({ DATABASE_URL: 'ftp://x', DATABASE_POOL_SIZE: 'x', PORT: 'x' }).length, 3, 'reported with every other problem');
});

test('openIndex: the embedded index at REGISTRY_DB by default', async (t) => {
  const config = loadConfig({ REGISTRY_DB: path.join(await tempDir(t), 'registry.db') });
  const index = await openIndex(config, quiet);
  t.teardown(() => index.close());
  t.true(index instanceof EmbeddedIndex);
});

postgresTest('openIndex: PostgreSQL when DATABASE_URL is set', async (t) => {
  const config = loadConfig({ DATABASE_URL: await freshDatabase(), DATABASE_POOL_SIZE: '3' });
  const index = await openIndex(config, quiet);
  t.teardown(() => index.close());
  t.true(index instanceof PostgresIndex);
  t.is(await index.count(), 0);
});
