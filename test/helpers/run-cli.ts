import { execFile } from 'node:child_process';
import { BIN } from './child-server.js';

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** The built executable, run asynchronously: a registry under test may share this process. */
export function cli(args: string[], options: { env?: Record<string, string>; cwd?: string } = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { env: { ...process.env, ...options.env }, cwd: options.cwd }, (error, stdout, stderr) => {
      resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr });
    });
  });
}
