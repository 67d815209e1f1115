import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { cephTest } from '../helpers/ceph.js';
import { tempDir } from '../helpers/temp-dir.js';
import { waitFor } from '../helpers/wait-for.js';

const SCRIPT = fileURLToPath(new URL('../../../scripts/ceph-rgw.sh', import.meta.url));

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

cephTest('scripts/ceph-rgw.sh: when the process that started Ceph is killed (kill -9), its daemons stop and its folder goes', async (t) => {
  const dir = path.join(await tempDir(t), 'ceph');
  // The owner: a shell that starts the cluster, says so, and waits; as ava's worker would be.
  const owner = spawn('sh', ['-c', `"${SCRIPT}" start "${dir}" >/dev/null && echo started && exec sleep 3600`], { stdio: ['ignore', 'pipe', 'inherit'] });
  let output = '';
  owner.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  t.teardown(() => owner.kill('SIGKILL'));
  await waitFor(() => output.includes('started') || owner.exitCode !== null, 120_000);
  t.is(output.trim(), 'started');

  const runDir = path.join(dir, 'run');
  const daemons = readdirSync(runDir)
    .filter((name) => name.endsWith('.pid'))
    .map((name) => Number(readFileSync(path.join(runDir, name), 'utf8')));
  t.is(daemons.length, 3, 'monitor, OSD and radosgw');
  t.true(daemons.every(alive));

  owner.kill('SIGKILL');
  await waitFor(() => !daemons.some(alive) && !existsSync(dir), 120_000);
  t.pass();
});
