import test from 'ava';
import { spawnServer } from '../helpers/child-server.js';
import { firmwareBytes, sha256 } from '../helpers/fixtures.js';
import { request, type RawResponse } from '../helpers/http.js';
import { firmwareUpload } from '../helpers/multipart.js';
import { tempDir } from '../helpers/temp-dir.js';

/** What a version may look like after a restart: its state after each acknowledged step. */
type State = { labels: Record<string, string>; digest: string } | 'absent';

interface Version {
  version: string;
  /** The state after the last acknowledged change. */
  acknowledged: State;
  /** The state the change in flight at the kill would have made, if any. */
  inFlight?: State;
}

/**
 * Streams publishes, relabels and deletes at a server whose journal is folded into a
 * snapshot every few KiB (so kills land during snapshots too), kills it with SIGKILL at a
 * random moment, restarts it, and checks each version: it is as the last acknowledged change
 * left it, or as the one in flight would have; never anything else, never twice.
 */
test('crash: SIGKILL during publishes, relabels and deletes, and during snapshots, loses no acknowledged change', async (t) => {
  const home = await tempDir(t);
  const env = { JOURNAL_SNAPSHOT_BYTES: '4K' };
  const versions: Version[] = [];
  let acknowledgedChanges = 0;
  for (let round = 0; round < 6; round++) {
    const server = await spawnServer(t, home, env);
    t.log(`round ${round}: start-up replayed ${JSON.parse(server.lines.find((line) => line.includes('listening')) ?? '{}').journalReplayed} journalled changes`);
    let alive = true;
    const killAfter = 40 + Math.floor(Math.random() * 80);
    let answered = 0;
    const step = async (entry: Version, next: State, send: () => Promise<RawResponse>, ok: number) => {
      entry.inFlight = next;
      let answer: RawResponse;
      try {
        answer = await send();
      } catch {
        alive = false;
        return false;
      }
      if (answer.status !== ok) throw new Error(`${entry.version}: ${answer.status} ${answer.body.toString()}`);
      entry.acknowledged = next;
      entry.inFlight = undefined;
      acknowledgedChanges++;
      if (++answered === killAfter) server.child.kill('SIGKILL');
      return true;
    };
    const worker = async (w: number) => {
      for (let i = 0; alive; i++) {
        const entry: Version = { version: `${round}.${w}.${i}`, acknowledged: 'absent' };
        versions.push(entry);
        const bytes = firmwareBytes(256);
        const upload = firmwareUpload({ name: 'churn', version: entry.version, labels: { channel: 'beta' } }, bytes);
        const published: State = { labels: { channel: 'beta' }, digest: sha256(bytes) };
        const post = () => request(`${server.url}/firmware`, { method: 'POST', headers: { 'Content-Type': upload.contentType, 'Content-Length': upload.body.length }, body: upload.body });
        if (!(await step(entry, published, post, 201))) return;
        if (i % 2 === 0) {
          const promoted: State = { ...published, labels: { channel: 'stable' } };
          const patch = () =>
            request(`${server.url}/firmware/churn/${entry.version}`, { method: 'PATCH', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ labels: { channel: 'stable' } }) });
          if (!(await step(entry, promoted, patch, 200))) return;
        }
        if (i % 3 === 0) {
          const remove = () => request(`${server.url}/firmware/churn/${entry.version}`, { method: 'DELETE' });
          if (!(await step(entry, 'absent', remove, 204))) return;
        }
      }
    };
    await Promise.all(Array.from({ length: 8 }, (_, w) => worker(w)));
    await server.exited;
  }

  const server = await spawnServer(t, home, env);
  const rows = (await request(`${server.url}/firmware?name=churn`)).json<{ version: string; labels: Record<string, string>; sha256: string }[]>();
  t.is(new Set(rows.map((row) => row.version)).size, rows.length, 'no version twice');
  const listed = new Map(rows.map((row) => [row.version, row]));
  const same = (state: State | undefined, row: { labels: Record<string, string>; sha256: string } | undefined) =>
    state === undefined ? false : state === 'absent' ? row === undefined : row !== undefined && row.sha256 === state.digest && JSON.stringify(row.labels) === JSON.stringify(state.labels);
  for (const entry of versions) {
    const row = listed.get(entry.version);
    t.true(same(entry.acknowledged, row) || same(entry.inFlight, row), `${entry.version}: ${JSON.stringify(row)} is neither ${JSON.stringify(entry.acknowledged)} nor ${JSON.stringify(entry.inFlight)}`);
    if (row) t.is<string, string>(sha256((await request(`${server.url}/firmware/churn/${entry.version}`)).body), row.sha256);
  }
  const stats = (await request(`${server.url}/stats`)).json();
  t.log(`${versions.length} versions, ${acknowledgedChanges} acknowledged changes, ${rows.length} listed at the end; stats ${JSON.stringify(stats)}`);
  t.true(versions.length > 6 * 8, 'every round made changes');
});
