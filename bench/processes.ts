import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export interface Server {
  url: string;
  child: ChildProcess;
  /** Largest resident set size seen since start or the last reset, in MiB (sampled every 50 ms). */
  peakRssMiB(): number;
  resetPeak(): void;
  stop(): Promise<void>;
}

/**
 * Starts a Node script that logs a JSON line with a `url` once it listens. Its output goes to
 * `logFile`, as a server's would in production: a pipe to this process would make the bench
 * itself compete for the CPU.
 */
export async function startNodeServer(script: string | URL, args: string[], env: Record<string, string>, logFile: string, startSeconds = 10): Promise<Server> {
  const path = typeof script === 'string' ? script : fileURLToPath(script);
  const log = openSync(logFile, 'w');
  const child = spawn(process.execPath, [path, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', log, 'inherit'] });
  closeSync(log);
  let url: string | undefined;
  for (let attempt = 0; !url; attempt++) {
    if (child.exitCode !== null) throw new Error(`${path} exited with ${child.exitCode}`);
    if (attempt > startSeconds * 20) throw new Error(`${path} did not start listening in ${startSeconds} s`);
    await new Promise((resolve) => setTimeout(resolve, 50));
    url = /"url":"([^"]+)"/.exec(readFileSync(logFile, 'utf8'))?.[1];
  }
  let peak = 0;
  const sampler = setInterval(() => (peak = Math.max(peak, rssMiB(child.pid))), 50);
  return {
    url,
    child,
    peakRssMiB: () => Math.max(peak, rssMiB(child.pid)),
    resetPeak: () => (peak = rssMiB(child.pid)),
    async stop() {
      clearInterval(sampler);
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

function rssMiB(pid: number | undefined): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024;
  } catch {
    return 0;
  }
}
