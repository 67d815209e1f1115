import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import type { ExecutionContext } from 'ava';

export const BIN = fileURLToPath(new URL('../../bin/spore-registry.js', import.meta.url));

export interface ChildServer {
  child: ChildProcess;
  url: string;
  /** Every line the server printed so far. */
  lines: string[];
  /** Resolves with the exit code (null when killed by a signal) once output is read. */
  exited: Promise<number | null>;
}

/** The built executable, as `npm start` runs it, on a free loopback port; killed when the test ends. */
export function spawnServer(t: ExecutionContext, cwd: string, env: Record<string, string> = {}, args: string[] = []): Promise<ChildServer> {
  return spawnListening(t, cwd, process.execPath, [BIN, 'serve', ...args], env);
}

/**
 * A command line that starts a server, run by the shell as written (a README line), on a free
 * loopback port unless the line names one; killed when the test ends. `exec env` keeps the
 * server's PID the child's and lets the line begin with VAR=value, as a reader would type it.
 */
export function spawnShellServer(t: ExecutionContext, cwd: string, line: string, env: Record<string, string> = {}): Promise<ChildServer> {
  return spawnListening(t, cwd, 'sh', ['-c', `exec env ${line}`], env);
}

async function spawnListening(t: ExecutionContext, cwd: string, command: string, args: string[], env: Record<string, string>): Promise<ChildServer> {
  const child = spawn(command, args, {
    cwd,
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const exited = once(child, 'close').then(([code]) => code as number | null);
  const lines: string[] = [];
  let buffered = '';
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const parts = buffered.split('\n');
      buffered = parts.pop() ?? '';
      for (const line of parts) {
        lines.push(line);
        const parsed = JSON.parse(line) as { msg: string; url?: string };
        if (parsed.msg === 'spore-registry listening' && parsed.url) resolve(parsed.url);
      }
    });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    void exited.then((code) => reject(new Error(`exited with ${code} before listening: ${stderr}`)));
  });
  return { child, url, lines, exited };
}
