import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { firmwareBytes, sha256 } from './helpers/fixtures.js';
import { firmwareUpload } from './helpers/multipart.js';
import { goRegistry, isoFromSqlite, type GoFirmware, type GoRegistry } from './helpers/go-registry.js';
import { startRegistry, type TestRegistry } from './helpers/registry-server.js';
import { pathWithCli } from './helpers/cli-on-path.js';
import { readmeLine } from './helpers/readme.js';
import { BIN } from './helpers/child-server.js';
import { cli } from './helpers/run-cli.js';
import { tempDir } from './helpers/temp-dir.js';
import { waitFor } from './helpers/wait-for.js';
import type { RecordJson } from '../src/http/record-json.js';

/** A version as `GET /firmware` lists it. */
type Listed = RecordJson;

const shared = firmwareBytes(70_000);

/** Versions a Go registry can hold that import as they are: dates, labels and shared bytes. */
const GOOD: GoFirmware[] = [
  { name: 'base', version: '1.0.0', labels: '{"app":"base"}', createdAt: '2024-03-01 08:15:30', bytes: firmwareBytes(50_000) },
  { name: 'base', version: '1.1.0', labels: '{"app":"base","channel":"stable"}', createdAt: '2024-06-15 23:59:59', bytes: shared },
  { name: 'base', version: '1.1.1', labels: '{}', createdAt: '2024-06-16 00:00:00', bytes: shared },
  // Go's json.Marshal of a nil map; the date from the column's DEFAULT CURRENT_TIMESTAMP.
  { name: 'sensor', version: '2.0.0-rc.1+build.7', labels: 'null', bytes: firmwareBytes(1000) },
];

/** Rows the import must leave out, each for its own reason. */
const BAD: [GoFirmware, RegExp][] = [
  [{ name: 'base', version: 'v1.2.0', labels: '{}', createdAt: '2024-07-01 10:00:00', bytes: firmwareBytes(10) }, /^skipped base v1\.2\.0: the version is not SemVer/m],
  [{ name: 'base', version: '1.2', labels: '{}', createdAt: '2024-07-01 10:00:00', bytes: firmwareBytes(10) }, /^skipped base 1\.2: the version is not SemVer/m],
  [{ name: 'base', version: '1.3.0', labels: '{}', createdAt: '2024-07-02 10:00:00' }, /^skipped base 1\.3\.0: cannot read .*base\/1\.3\.0\/firmware\.bin: no such file$/m],
  [{ name: 'base', version: '1.4.0', labels: '["beta"]', createdAt: '2024-07-03 10:00:00', bytes: firmwareBytes(10) }, /^skipped base 1\.4\.0: the labels \["beta"\] are not a JSON object of strings$/m],
  [{ name: 'base', version: '1.5.0', labels: '{"build":7}', createdAt: '2024-07-04 10:00:00', bytes: firmwareBytes(10) }, /^skipped base 1\.5\.0: .*the value of label "build" must be a string/m],
  [{ name: 'base', version: '1.6.0', labels: JSON.stringify(Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, 'v']))), createdAt: '2024-07-05 10:00:00', bytes: firmwareBytes(10) }, /^skipped base 1\.6\.0: .*at most 64 labels.*\(65\)$/m],
  [{ name: 'base', version: '1.7.0', labels: '{"note":"' + 'x'.repeat(300) + '"}', createdAt: '2024-07-06 10:00:00', bytes: firmwareBytes(10) }, /^skipped base 1\.7\.0: .*label "note" is longer than 256/m],
  [{ name: 'base', version: '1.8.0', labels: 'not json', createdAt: '2024-07-07 10:00:00', bytes: firmwareBytes(10) }, /^skipped base 1\.8\.0: the labels not json are not a JSON object/m],
  [{ name: 'base', version: '1.9.0', labels: '{}', createdAt: '2024-07-08 10:00:00', bytes: firmwareBytes(10), size: 11 }, /^skipped base 1\.9\.0: .* is 10 bytes, the Go database says 11/m],
  [{ name: 'base', version: '1.10.0', labels: '{}', createdAt: '2024-07-09 10:00:00', bytes: Buffer.alloc(0) }, /^skipped base 1\.10\.0: .* is empty$/m],
  [{ name: 'base', version: '1.11.0', labels: '{}', createdAt: 'yesterday', bytes: firmwareBytes(10) }, /^skipped base 1\.11\.0: created_at yesterday is not a time/m],
  [{ name: '../escape', version: '1.0.0', labels: '{}', createdAt: '2024-07-10 10:00:00', bytes: undefined }, /^skipped \.\.\/escape 1\.0\.0: the name is not valid here/m],
];

/** Every version the registry lists is the Go registry's, with its labels, date, digest and bytes. */
async function assertImported(t: ExecutionContext, registry: TestRegistry, go: GoRegistry, rows: GoFirmware[]): Promise<void> {
  const listed = (await registry.get('/firmware')).json<Listed[]>();
  for (const row of rows) {
    const bytes = row.bytes ?? Buffer.alloc(0);
    const record = listed.find((item) => item.name === row.name && item.version === row.version);
    t.deepEqual(
      record,
      {
        name: row.name,
        version: row.version,
        size: bytes.length,
        sha256: sha256(bytes),
        labels: JSON.parse(row.labels) ?? {},
        created_at: isoFromSqlite(go.createdAt.get(`${row.name} ${row.version}`) ?? ''),
      },
      `${row.name} ${row.version}`,
    );
    const download = await registry.get(`/firmware/${row.name}/${encodeURIComponent(row.version)}`);
    t.true(download.body.equals(bytes), `the bytes of ${row.name} ${row.version}`);
    t.is(download.headers['last-modified'], new Date(record?.created_at ?? 0).toUTCString(), 'Last-Modified is the original date');
  }
}

test.serial('import-go: into a running registry, every version with its labels, date and bytes; a second run publishes nothing', async (t) => {
  const go = await goRegistry(t, [...GOOD, ...BAD.map(([row]) => row), { name: 'sensor', version: '1.0.0', labels: '{}', createdAt: '2023-12-31 12:00:00', bytes: firmwareBytes(500) }]);
  const registry = await startRegistry(t, { REGISTRY_TOKENS: 'ci-secret' });
  const other = firmwareBytes(600);
  const taken = await registry.post(firmwareUpload({ name: 'sensor', version: '1.0.0' }, other), { Authorization: 'Bearer ci-secret' });
  t.is(taken.status, 201);
  const args = ['import-go', '--dir', go.dir, '--db', go.db, '--url', registry.url];

  const denied = await cli(args);
  t.is(denied.code, 1, 'without the token nothing is imported');
  t.regex(denied.stderr, /401 UNAUTHORIZED/);
  t.regex(denied.stdout, /^import-go: stopped after 0 of 17 versions: 0 imported, .*; run it again to resume$/m);
  t.is((await registry.get('/firmware')).json<Listed[]>().length, 1);

  const first = await cli([...args, '--token', 'ci-secret']);
  t.is(first.code, 1, 'conflicts and skips make the exit status 1');
  t.regex(first.stdout, /^import-go: 17 versions in the Go registry: 4 imported, 0 already present, 1 in conflict, 12 skipped$/m);
  t.regex(first.stdout, new RegExp(`^conflict sensor 1\\.0\\.0: published here as ${sha256(other)}, .* left as it is$`, 'm'));
  for (const [row, line] of BAD) t.regex(first.stdout, line, `${row.name} ${row.version}`);
  t.regex(first.stderr, /^spore-registry: import-go: 13 version\(s\) not imported/m);
  await assertImported(t, registry, go, GOOD);
  t.true((await registry.get('/firmware/sensor/1.0.0')).body.equals(other), 'the conflicting version is left as it was');
  const listed = (await registry.get('/firmware')).json<Listed[]>();
  t.is(listed.length, 5);
  t.is((await registry.get('/stats')).json<{ blobs: number }>().blobs, 4, 'base 1.1.0 and 1.1.1 share one blob');

  const second = await cli(args, { env: { SPORE_TOKEN: 'ci-secret' } });
  t.is(second.code, 1);
  t.regex(second.stdout, /^import-go: 17 versions in the Go registry: 0 imported, 4 already present, 1 in conflict, 12 skipped$/m);
  t.deepEqual((await registry.get('/firmware')).json<Listed[]>(), listed, 'the second run changed nothing');
});

test.serial('import-go: into local data, exit 0 when everything is in; a run after a fix imports the rest; refused while a registry runs on it', async (t) => {
  const lost = GOOD[0] as GoFirmware;
  const go = await goRegistry(t, [{ ...lost, bytes: undefined, size: lost.bytes?.length }, ...GOOD.slice(1)]);
  const home = await tempDir(t);
  const env = { REGISTRY_DIR: path.join(home, 'registry'), REGISTRY_DB: path.join(home, 'registry.db') };
  const args = ['import-go', '--dir', go.dir, '--db', go.db];

  const first = await cli(args, { env });
  t.is(first.code, 1, first.stderr);
  t.regex(first.stdout, /^import-go: 4 versions in the Go registry: 3 imported, 0 already present, 0 in conflict, 1 skipped$/m);
  // The file comes back (restored from a backup, say): the next run imports it alone.
  await fs.mkdir(path.join(go.dir, 'base', '1.0.0'), { recursive: true });
  await fs.writeFile(path.join(go.dir, 'base', '1.0.0', 'firmware.bin'), lost.bytes ?? Buffer.alloc(0));
  const resumed = await cli(args, { env });
  t.is(resumed.code, 0, resumed.stdout + resumed.stderr);
  t.regex(resumed.stdout, /^import-go: 4 versions in the Go registry: 1 imported, 3 already present, 0 in conflict, 0 skipped$/m);
  t.is(resumed.stderr, '', 'nothing to say: no progress bar off a terminal');
  const again = await cli(['import-go', '--dir', go.dir, '--db', go.db, '--into-dir', env.REGISTRY_DIR, '--into-db', env.REGISTRY_DB]);
  t.is(again.code, 0, again.stderr);
  t.regex(again.stdout, /: 0 imported, 4 already present,/);

  const registry = await startRegistry(t, {}, home);
  await assertImported(t, registry, go, GOOD);
  for (const row of GOOD) {
    const link = path.join(env.REGISTRY_DIR, row.name, row.version, 'firmware.bin');
    t.true((row.bytes ?? Buffer.alloc(0)).equals(await fs.readFile(link)), `the version tree has ${row.name} ${row.version}`);
  }
  const running = await cli(args, { env });
  t.is(running.code, 2);
  t.regex(running.stderr, /^spore-registry: import-go: .*--url <its address>\n\(run with --help for usage\)\n$/);
});

test.serial("import-go: the Go registry's own paths are never its target, and a database that is not the Go registry's is refused", async (t) => {
  const go = await goRegistry(t, GOOD);
  const before = await fs.readFile(go.db);
  const inPlace = await cli(['import-go', '--dir', go.dir, '--db', go.db, '--into-dir', path.join(go.dir, '..', 'other'), '--into-db', go.db]);
  t.is(inPlace.code, 2);
  t.regex(inPlace.stderr, /give that one its own folder and index/);
  const sameDir = await cli(['import-go', '--dir', go.dir, '--db', go.db], { env: { REGISTRY_DIR: go.dir, REGISTRY_DB: path.join(go.dir, '..', 'new.db') } });
  t.is(sameDir.code, 2);
  t.true(before.equals(await fs.readFile(go.db)), "the Go registry's database is untouched");
  t.deepEqual((await fs.readdir(path.dirname(go.db))).sort(), ['registry', 'registry.db']);

  const text = path.join(await tempDir(t), 'registry.db');
  await fs.writeFile(text, 'not a database, just text long enough to look like a header');
  const notSqlite = await cli(['import-go', '--dir', go.dir, '--db', text, '--url', 'http://127.0.0.1:1']);
  t.is(notSqlite.code, 1);
  t.regex(notSqlite.stderr, /is not a SQLite database/);

  await fs.writeFile(`${go.db}-wal`, 'uncheckpointed pages');
  const unfinished = await cli(['import-go', '--dir', go.dir, '--db', go.db, '--url', 'http://127.0.0.1:1']);
  t.is(unfinished.code, 1);
  t.regex(unfinished.stderr, /registry\.db-wal holds changes not yet in .*stop the Go registry/);
});

test.serial("import-go: a registry started on the Go registry's database names the import command", async (t) => {
  const go = await goRegistry(t, GOOD);
  const started = await cli(['serve', '--port', '0', '--host', '127.0.0.1', '--dir', path.join(go.dir, '..', 'new'), '--db', go.db]);
  t.is(started.code, 1);
  t.regex(started.stderr, new RegExp(`spore-registry import-go --dir <its registry folder> --db ${go.db.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
});

test.serial('import-go: usage errors exit 2', async (t) => {
  for (const args of [
    ['import-go', '--dir', 'registry'],
    ['import-go', '--db', 'registry.db'],
    ['import-go', '--dir', 'registry', '--db', 'registry.db', '--url', 'http://127.0.0.1:1', '--into-db', 'new.db'],
  ]) {
    const result = await cli(args, { cwd: await tempDir(t) });
    t.is(result.code, 2, args.join(' '));
  }
});

test.serial("import-go: the README's commands run as written in the Go registry's folder", async (t) => {
  const go = await goRegistry(t, GOOD);
  const env = { ...process.env, PATH: await pathWithCli(t) };
  const heading = '## Coming from the Go registry';
  // Asynchronous: the registry under test answers from this process.
  const sh = (line: string) =>
    new Promise<{ status: number; stdout: string; stderr: string }>((resolve) => {
      execFile('sh', ['-eu', '-c', line], { cwd: path.dirname(go.db), env }, (error, stdout, stderr) => resolve({ status: error ? Number(error.code ?? 1) : 0, stdout, stderr }));
    });

  const registry = await startRegistry(t);
  const remote = await sh(readmeLine(heading, 'spore-registry import-go').replace('http://localhost:3002', registry.url));
  t.is(remote.status, 0, remote.stdout + remote.stderr);
  await assertImported(t, registry, go, GOOD);

  const home = await tempDir(t);
  const local = await sh(readmeLine(heading, 'REGISTRY_DIR=').replaceAll('/srv/spore', home));
  t.is(local.status, 0, local.stdout + local.stderr);
  t.regex(local.stdout, /: 4 imported, 0 already present, 0 in conflict, 0 skipped$/m);
  await assertImported(t, await startRegistry(t, {}, home), go, GOOD);
});

test.serial('import-go: killed with kill -9 midway, a second run imports the rest, nothing twice', async (t) => {
  const rows: GoFirmware[] = Array.from({ length: 150 }, (_, i) => ({
    name: 'fleet',
    version: `1.0.${i}`,
    labels: `{"build":"${i}"}`,
    createdAt: `2024-01-01 00:${String(Math.floor(i / 60)).padStart(2, '0')}:${String(i % 60).padStart(2, '0')}`,
    bytes: firmwareBytes(40_000),
  }));
  const go = await goRegistry(t, rows);
  const registry = await startRegistry(t);
  const args = ['import-go', '--dir', go.dir, '--db', go.db, '--url', registry.url];
  const child = spawn(process.execPath, [BIN, ...args], { stdio: 'ignore' });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  t.teardown(() => void child.kill('SIGKILL'));
  // Killed once some versions are in: wait for that, however long the machine takes.
  await waitFor(async () => (await registry.get('/firmware?name=fleet')).json<Listed[]>().length >= 5);
  child.kill('SIGKILL');
  await exited;
  const before = (await registry.get('/firmware?name=fleet')).json<Listed[]>().length;
  t.true(before < rows.length, `the import was cut off midway (${before} of ${rows.length} in)`);

  const resumed = await cli(args);
  t.is(resumed.code, 0, resumed.stdout + resumed.stderr);
  // A publish whose body was all sent when the client died may still be finishing: it counts
  // as present, so the split is read from the summary; together they are every version.
  const summary = /^import-go: 150 versions in the Go registry: (\d+) imported, (\d+) already present, 0 in conflict, 0 skipped$/m.exec(resumed.stdout);
  t.truthy(summary, resumed.stdout);
  const [imported, present] = [Number(summary?.[1]), Number(summary?.[2])];
  t.is(imported + present, rows.length);
  t.true(present >= before && imported > 0, `${present} present, ${before} in at the kill`);
  await assertImported(t, registry, go, rows);
  t.is((await registry.get('/firmware?name=fleet')).json<Listed[]>().length, rows.length, 'each version once');
  t.log(`${before} versions in when the import was killed; the second run imported the other ${imported}`);
});
