import cliProgress from 'cli-progress';

export interface Progress {
  update(done: number): void;
  stop(): void;
}

/**
 * A progress bar on standard error for transfers and long checks, drawn only on a terminal
 * (scripts and CI logs get none).
 */
export function progressBar(label: string, total: number, unit: 'bytes' | 'count' = 'bytes'): Progress {
  if (!process.stderr.isTTY || total === 0) return { update() {}, stop() {} };
  const format = unit === 'bytes' ? `${label} [{bar}] {percentage}% {done}/{all} MiB` : `${label} [{bar}] {value}/{total}`;
  const bar = new cliProgress.SingleBar({ format, stream: process.stderr, hideCursor: true }, cliProgress.Presets.shades_classic);
  const mib = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);
  bar.start(total, 0, { done: mib(0), all: mib(total) });
  return {
    update: (done) => bar.update(done, { done: mib(done), all: mib(total) }),
    stop: () => bar.stop(),
  };
}
