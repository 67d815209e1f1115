/** Everything the server needs to start, from the environment (SPEC §2), checked. */
export interface Config {
  port: number;
  host: string;
  registryDir: string;
  registryDb: string;
  maxUploadBytes: number;
  /** Bearer tokens allowed to write; empty means writes are open. */
  tokens: string[];
  /** Absolute base for URLs in responses, without a trailing slash. */
  publicUrl: string | undefined;
  /** A connection with no bytes moving either way for this long is closed. */
  idleTimeoutMs: number;
}

export type Environment = Record<string, string | undefined>;

/** Every problem found in the configuration, so one run shows them all. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

export const DEFAULTS = {
  PORT: '3002',
  HOST: '0.0.0.0',
  REGISTRY_DIR: './registry',
  REGISTRY_DB: './registry.db',
  MAX_UPLOAD_BYTES: String(1024 ** 3),
  IDLE_TIMEOUT_SECONDS: '60',
} as const;

const UNITS: Record<string, number> = { '': 1, K: 1024, KIB: 1024, M: 1024 ** 2, MIB: 1024 ** 2, G: 1024 ** 3, GIB: 1024 ** 3 };

export function loadConfig(env: Environment): Config {
  const problems: string[] = [];
  const read = (key: keyof typeof DEFAULTS) => {
    const value = env[key]?.trim();
    return value === undefined || value === '' ? DEFAULTS[key] : value;
  };

  const port = Number(read('PORT'));
  if (!/^\d+$/.test(read('PORT')) || port > 65535) {
    problems.push(`PORT must be a whole number from 0 to 65535, not ${JSON.stringify(read('PORT'))}`);
  }

  const maxUploadBytes = parseBytes(read('MAX_UPLOAD_BYTES'));
  if (maxUploadBytes === undefined) {
    problems.push(
      `MAX_UPLOAD_BYTES must be a positive number of bytes, optionally with K, M or G (binary units), not ${JSON.stringify(read('MAX_UPLOAD_BYTES'))}`,
    );
  }

  const idleTimeoutSeconds = Number(read('IDLE_TIMEOUT_SECONDS'));
  if (!(idleTimeoutSeconds > 0 && idleTimeoutSeconds <= 86_400)) {
    problems.push(`IDLE_TIMEOUT_SECONDS must be a number of seconds from 0.001 to 86400, not ${JSON.stringify(read('IDLE_TIMEOUT_SECONDS'))}`);
  }

  const tokens = (env.REGISTRY_TOKENS ?? '').split(',').map((token) => token.trim()).filter(Boolean);

  let publicUrl: string | undefined;
  const publicUrlText = env.PUBLIC_URL?.trim();
  if (publicUrlText) {
    try {
      const url = new URL(publicUrlText);
      if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('not http');
      if (url.search || url.hash) throw new Error('has a query');
      publicUrl = url.href.replace(/\/+$/, '');
    } catch {
      problems.push(`PUBLIC_URL must be an absolute http(s) URL without query, such as https://fw.example.com, not ${JSON.stringify(publicUrlText)}`);
    }
  }

  if (problems.length > 0) throw new ConfigError(problems);
  return {
    port,
    host: read('HOST'),
    registryDir: read('REGISTRY_DIR'),
    registryDb: read('REGISTRY_DB'),
    maxUploadBytes: maxUploadBytes ?? 0,
    tokens,
    publicUrl,
    idleTimeoutMs: Math.round(idleTimeoutSeconds * 1000),
  };
}

function parseBytes(text: string): number | undefined {
  const match = /^(\d+)\s*([KMG](?:iB)?)?$/i.exec(text);
  if (!match) return undefined;
  const bytes = Number(match[1]) * (UNITS[(match[2] ?? '').toUpperCase()] ?? NaN);
  return Number.isSafeInteger(bytes) && bytes > 0 ? bytes : undefined;
}
