import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export interface Server {
  url: string;
  child: ChildProcess;
  /** Largest resident set size seen, in MiB (sampled from /proc every 50 ms). */
  peakRssMiB(): number;
  stop(): Promise<void>;
}

/** Starts a Node script that prints a JSON line with a `url` once it listens. */
export async function startNodeServer(script: string | URL, args: string[], env: Record<string, string>): Promise<Server> {
  const path = typeof script === 'string' ? script : fileURLToPath(script);
  const child = spawn(process.execPath, [path, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise<string>((resolve, reject) => {
    let buffered = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const match = /"url":"([^"]+)"/.exec(buffered);
      if (match?.[1]) resolve(match[1]);
    });
    child.once('exit', (code) => reject(new Error(`${path} exited with ${code}`)));
  });
  child.stdout?.resume();
  let peak = 0;
  const sampler = setInterval(() => (peak = Math.max(peak, rssMiB(child.pid))), 50);
  return {
    url,
    child,
    peakRssMiB: () => Math.max(peak, rssMiB(child.pid)),
    async stop() {
      clearInterval(sampler);
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

import { readFileSync } from 'node:fs';

function rssMiB(pid: number | undefined): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024;
  } catch {
    return 0;
  }
}
