import { ConfigError, loadConfig, type Environment } from '../config/config.js';
import { isErrnoCode, isRegistryError } from '../errors.js';
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
  try {
    server = await startServer(loadConfig(env), log);
  } catch (error) {
    process.off('SIGHUP', reload);
    if (error instanceof ConfigError || isRegistryError(error) || isErrnoCode(error, 'EADDRINUSE', 'EACCES', 'EADDRNOTAVAIL')) {
      throw new CliError(error.message);
    }
    throw error;
  }
  log.info({ signal: await stopSignal }, 'shutting down');
  process.off('SIGHUP', reload);
  await server.close();
}
