#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { ConfigError, DEFAULTS, loadConfig, type Environment } from '../src/config/config.js';
import { isErrnoCode, isRegistryError } from '../src/errors.js';
import { createLogger } from '../src/log.js';
import { startServer } from '../src/server.js';

const USAGE = `Usage: spore-registry [serve] [options]

Serves the firmware registry over HTTP.

Options (each overrides its environment variable):
  --port <n>               PORT              listen port (default ${DEFAULTS.PORT})
  --host <addr>            HOST              listen address (default ${DEFAULTS.HOST})
  --dir <path>             REGISTRY_DIR      data folder (default ${DEFAULTS.REGISTRY_DIR})
  --db <path>              REGISTRY_DB       index file (default ${DEFAULTS.REGISTRY_DB})
  --max-upload-bytes <n>   MAX_UPLOAD_BYTES  largest firmware, e.g. 1073741824 or 1G (default 1 GiB)
  -h, --help               show this text

Also read from the environment: REGISTRY_TOKENS (comma-separated bearer tokens that may
write; unset = writes open), PUBLIC_URL (absolute base URL behind a proxy).

Exit status: 0 after a clean shutdown, 1 when the server cannot start, 2 on bad usage.`;

const FLAG_TO_ENV = {
  port: 'PORT',
  host: 'HOST',
  dir: 'REGISTRY_DIR',
  db: 'REGISTRY_DB',
  'max-upload-bytes': 'MAX_UPLOAD_BYTES',
} as const;

async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        help: { type: 'boolean', short: 'h' },
        ...Object.fromEntries(Object.keys(FLAG_TO_ENV).map((flag) => [flag, { type: 'string' as const }])),
      },
    });
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n\n${USAGE}\n`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const [command = 'serve', ...rest] = positionals;
  if (command !== 'serve' || rest.length > 0) {
    process.stderr.write(`unknown command: ${positionals.join(' ')}\n\n${USAGE}\n`);
    return 2;
  }

  const env: Environment = { ...process.env };
  for (const [flag, key] of Object.entries(FLAG_TO_ENV)) {
    const value = values[flag as keyof typeof values];
    if (typeof value === 'string') env[key] = value;
  }

  // Listen for signals before starting, so a stop asked for during start-up is not lost.
  const stopSignal = new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  const log = createLogger();
  let server;
  try {
    server = await startServer(loadConfig(env), log);
  } catch (error) {
    if (error instanceof ConfigError || isRegistryError(error) || isErrnoCode(error, 'EADDRINUSE', 'EACCES', 'EADDRNOTAVAIL')) {
      process.stderr.write(`spore-registry: ${error.message}\n`);
      return 1;
    }
    throw error;
  }

  log.info({ signal: await stopSignal }, 'shutting down');
  await server.close();
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode ??= code;
  },
  (error: unknown) => {
    process.stderr.write(`spore-registry: ${(error as Error).stack ?? String(error)}\n`);
    process.exitCode = 1;
  },
);
