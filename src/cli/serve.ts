import { ConfigError, loadConfig, type Config, type Environment } from '../config/config.js';
import { isErrnoCode, isRegistryError } from '../errors.js';
import { growHeapForStreaming } from '../heap-growth.js';
import { createLogger } from '../log.js';
import { startServer } from '../server.js';
import { CliError } from './cli-error.js';

export interface ServeOptions {
  port?: string;
  host?: string;
  dir?: string;
  db?: string;
  maxUploadBytes?: string;
}

const FLAG_TO_ENV: Record<keyof ServeOptions, string> = {
  port: 'PORT',
  host: 'HOST',
  dir: 'REGISTRY_DIR',
  db: 'REGISTRY_DB',
  maxUploadBytes: 'MAX_UPLOAD_BYTES',
};

/** Serves until SIGTERM or SIGINT, then shuts down cleanly (SPEC §6). */
export async function serve(options: ServeOptions, environment: Environment): Promise<void> {
  const env: Environment = { ...environment };
  for (const [flag, key] of Object.entries(FLAG_TO_ENV)) {
    const value = options[flag as keyof ServeOptions];
    if (value !== undefined) env[key] = value;
  }
  // Listen for signals before starting, so a stop asked for during start-up is not lost.
  const stopSignal = new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  // SIGHUP rereads the tokens file; before the server is up, tokens are being read anyway.
  let server: Awaited<ReturnType<typeof startServer>> | undefined;
  const reload = () => void server?.reloadTokens();
  process.on('SIGHUP', reload);
  const log = createLogger();
  growHeapForStreaming();
  let config: Config | undefined;
  try {
    config = loadConfig(env);
    server = await startServer(config, log);
  } catch (error) {
    process.off('SIGHUP', reload);
    if (error instanceof ConfigError || isRegistryError(error)) throw new CliError(error.message);
    if (isErrnoCode(error, 'EADDRINUSE', 'EACCES', 'EADDRNOTAVAIL')) throw new CliError(listenProblem(error, config));
    throw error;
  }
  log.info({ signal: await stopSignal }, 'shutting down');
  process.off('SIGHUP', reload);
  await server.close();
}

/** Why the server could not listen, and what to change. */
function listenProblem(error: NodeJS.ErrnoException, config: Config | undefined): string {
  const where = config ? `port ${config.port} on ${config.host}` : 'the port';
  if (error.code === 'EADDRINUSE') return `${where} is in use (another registry, or another program); stop it, or choose another port with --port or PORT`;
  if (error.code === 'EACCES') return `${where} needs privileges this user lacks (ports below 1024 do); choose another with --port or PORT`;
  return `${config?.host ?? 'the host'} is not an address of this machine; choose another with --host or HOST`;
}
