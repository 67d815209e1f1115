import { execFileSync, spawn } from 'node:child_process';
import { load } from './load.js';

export interface Rate {
  requestsPerSecond: number;
  /** Answers read in all. */
  requests: number;
  errors: number;
  /** 99th percentile of the request latency, in milliseconds. */
  p99Ms: number;
}

export interface LoadGenerator {
  name: string;
  run(url: string, options: { connections: number; seconds: number; headers?: Record<string, string> }): Promise<Rate>;
}

/**
 * wrk (Debian's package) when it is installed: written in C, it leaves the CPU to the servers.
 * Otherwise the closed-loop generator in load.ts, which runs in this process and tops out
 * lower. Both servers are always measured with the same one.
 */
export function loadGenerator(): LoadGenerator {
  try {
    execFileSync('wrk', ['--version'], { stdio: 'ignore' });
  } catch (error) {
    // wrk --version exits 1 after printing its version; only a missing binary is fatal.
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return ownGenerator;
  }
  return wrkGenerator;
}

const MS_PER = { us: 0.001, ms: 1, s: 1000 };

const wrkGenerator: LoadGenerator = {
  name: 'wrk',
  run: (url, { connections, seconds, headers = {} }) =>
    new Promise((resolve, reject) => {
      const args = ['-t1', `-c${connections}`, `-d${seconds}s`, '--timeout', '30s', '--latency', ...Object.entries(headers).flatMap(([name, value]) => ['-H', `${name}: ${value}`]), url];
      const child = spawn('wrk', args, { stdio: ['ignore', 'pipe', 'inherit'] });
      let output = '';
      child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.on('error', reject);
      child.on('close', (code) => {
        const rate = /Requests\/sec:\s+([\d.]+)/.exec(output);
        if (code !== 0 || !rate) return reject(new Error(`wrk failed (${code}): ${output}`));
        const errors = /Non-2xx or 3xx responses:\s+(\d+)/.exec(output);
        const socketErrors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(output);
        const requests = /(\d+) requests in/.exec(output);
        const p99 = /\n\s+99%\s+([\d.]+)(us|ms|s)\b/.exec(output);
        resolve({
          requestsPerSecond: Number(rate[1]),
          requests: Number(requests?.[1] ?? NaN),
          p99Ms: p99 ? Number(p99[1]) * MS_PER[p99[2] as keyof typeof MS_PER] : NaN,
          errors: Number(errors?.[1] ?? 0) + (socketErrors ? socketErrors.slice(1).reduce((sum, n) => sum + Number(n), 0) : 0),
        });
      });
    }),
};

const ownGenerator: LoadGenerator = {
  name: 'built-in closed loop (wrk not found)',
  async run(url, options) {
    const result = await load(url, options);
    return { requestsPerSecond: result.requests / result.seconds, requests: result.requests, errors: result.errors, p99Ms: result.p99Ms };
  },
};
