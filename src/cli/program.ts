import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import semver from 'semver';
import { DEFAULTS, type Environment } from '../config/config.js';
import { checkName, checkVersion } from '../firmware/identifiers.js';
import { checkLabels, isLabelKey } from '../firmware/labels.js';
import { isRegistryError } from '../errors.js';
import { CliError, UsageError } from './cli-error.js';
import { fsckCommand } from './fsck-command.js';
import { fileProblem } from './file-problem.js';
import { gcCommand, parseDuration } from './gc-command.js';
import { importGoCommand } from './import-go-command.js';
import { ls } from './ls.js';
import { pull } from './pull.js';
import { push } from './push.js';
import { packageVersion } from './package-version.js';
import { RegistryClient } from './registry-client.js';
import { serve } from './serve.js';

export interface Io {
  out: (text: string) => void;
  err: (text: string) => void;
  env: Environment;
}

const DEFAULT_URL = 'http://localhost:3002';

/**
 * The `spore-registry` command line (SPEC §5). Resolves to the exit status scripts can trust:
 * 0 done, 1 failed (one line on standard error says why), 2 bad usage.
 */
export async function run(argv: string[], io: Io): Promise<number> {
  const print = (line: string) => io.out(`${line}\n`);
  const note = (line: string) => io.err(`${line}\n`);
  // Made before a command does anything, so a bad --url or SPORE_URL is bad usage (exit 2).
  const client = (options: { url?: string; token?: string }) =>
    new RegistryClient(options.url ?? io.env.SPORE_URL ?? DEFAULT_URL, options.token ?? io.env.SPORE_TOKEN);
  const urlOption = () => new Option('--url <url>', `the registry (env SPORE_URL, default ${DEFAULT_URL})`);
  const tokenOption = () => new Option('--token <token>', 'bearer token for writes (env SPORE_TOKEN)');

  const program = new Command('spore-registry')
    .description('Firmware registry and OTA update server for the SPORE ecosystem.')
    .version(await packageVersion(), '-V, --version', 'print the version')
    // Options before a command are the program's, after it the command's: push has its own --version.
    .enablePositionalOptions()
    .exitOverride()
    .configureOutput({ writeOut: io.out, writeErr: io.err })
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText('after', '\nExit status: 0 done, 1 failed (standard error says why), 2 bad usage.');

  program
    .command('serve', { isDefault: true })
    .description('serve the registry over HTTP (the default command)')
    .option('--port <n>', `listen port (env PORT, default ${DEFAULTS.PORT})`)
    .option('--host <addr>', `listen address (env HOST, default ${DEFAULTS.HOST})`)
    .option('--dir <path>', `data folder (env REGISTRY_DIR, default ${DEFAULTS.REGISTRY_DIR})`)
    .option('--db <path>', `index file (env REGISTRY_DB, default ${DEFAULTS.REGISTRY_DB})`)
    .option('--max-upload-bytes <n>', 'largest firmware, in bytes or with K/M/G (env MAX_UPLOAD_BYTES, default 1G)')
    .addHelpText('after', '\nAlso from the environment: REGISTRY_TOKENS, PUBLIC_URL, IDLE_TIMEOUT_SECONDS (see the README).')
    .action((options) => serve(options, io.env));

  program
    .command('push <file>')
    .description('publish a firmware file: by digest when the registry already has the bytes, else uploaded')
    .requiredOption('--name <name>', 'firmware name', asName)
    .requiredOption('--version <version>', 'SemVer version', asVersion)
    .option('--label <key=value>', 'a label; repeat for more', collectLabel, [])
    .addOption(urlOption())
    .addOption(tokenOption())
    .action((file: string, options) => push(client(options), file, { name: options.name, version: options.version, labels: asLabels(options.label) }, print));

  program
    .command('ls')
    .description('list published firmware, highest version first')
    .option('--name <name>', 'only this name')
    .option('--label <key=value>', 'only with this label; repeat to require several', collectLabel, [])
    .option('--range <range>', 'only versions in this SemVer range, such as ^1.2', asRange)
    .option('--no-prerelease', 'leave out pre-releases')
    .option('--json', 'print JSON instead of a table')
    .addOption(urlOption())
    .action((options) => ls(client(options), { name: options.name, labels: options.label, range: options.range, prerelease: options.prerelease === false ? false : undefined, json: options.json }, print));

  program
    .command('pull <name> <version>')
    .description('download a firmware, resuming a partial download, and verify its digest')
    .option('-o, --output <file>', 'where to write it (default <name>-<version>.bin)')
    .addOption(urlOption())
    .action((name: string, version: string, options) => pull(client(options), name, version, options.output ?? `${name}-${version}.bin`, print));

  program
    .command('fsck')
    .description('re-hash every blob and check the index, links and store agree (read-only)')
    .option('--dir <path>', 'data folder (env REGISTRY_DIR)')
    .option('--db <path>', 'index file (env REGISTRY_DB)')
    .action((options) => fsckCommand(options, io.env, print, note));

  program
    .command('gc')
    .description('remove unreferenced blobs, stale temp files and stale version links')
    .option('--dry-run', 'list what would be removed, remove nothing', false)
    .option('--grace <duration>', 'keep what is younger than this (local only; default 1h)', (value: string) => usage(() => parseDuration(value)))
    .option('--dir <path>', 'data folder, for local collection with the registry stopped (env REGISTRY_DIR)')
    .option('--db <path>', 'index file, for local collection (env REGISTRY_DB)')
    .addOption(urlOption().conflicts(['dir', 'db', 'grace']))
    .addOption(tokenOption())
    .addHelpText('after', '\nWith --url, the running registry collects; without, the local data is collected and the registry must be stopped.')
    .action((options) => gcCommand(options.url ? client(options) : undefined, { dryRun: options.dryRun, graceMs: options.grace, dir: options.dir, db: options.db }, io.env, print));

  program
    .command('import-go')
    .description("publish every version of a Go registry, with its labels and dates, here (a re-run resumes)")
    .requiredOption('--dir <path>', "the Go registry's folder (registry/<name>/<version>/firmware.bin)")
    .requiredOption('--db <path>', "the Go registry's registry.db")
    .option('--into-dir <path>', 'local data folder to import into (env REGISTRY_DIR)')
    .option('--into-db <path>', 'local index to import into (env REGISTRY_DB)')
    .addOption(urlOption().conflicts(['intoDir', 'intoDb']))
    .addOption(tokenOption())
    .addHelpText('after', '\nWith --url, into the running registry; without, into the local data (the registry stopped).\nExit status 1 when a version was not imported (a conflict, or skipped: each is listed with why).')
    .action((options) => importGoCommand(options.url ? client(options) : undefined, { dir: options.dir, db: options.db, intoDir: options.intoDir, intoDb: options.intoDb }, io.env, print));

  // `serve` is the default, so commander would take an unknown command for serve's argument.
  const [first] = argv;
  if (first !== undefined && !first.startsWith('-') && !program.commands.some((command) => command.name() === first)) {
    note(`spore-registry: unknown command "${first}"; the commands are ${program.commands.map((command) => command.name()).join(', ')}`);
    note('(run with --help for usage)');
    return 2;
  }
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
    if (error instanceof UsageError) {
      note(`spore-registry: ${error.message}`);
      note('(run with --help for usage)');
      return 2;
    }
    if (error instanceof CliError || isRegistryError(error)) {
      note(`spore-registry: ${error.message}`);
      return 1;
    }
    if (error instanceof Error && 'syscall' in error && 'path' in error) {
      note(`spore-registry: cannot ${String(error.syscall)} ${String(error.path)}: ${fileProblem(error)}`);
      return 1;
    }
    // Not a failure the command foresaw: one line still, and the stack only when asked for.
    note(`spore-registry: ${error instanceof Error ? error.message : String(error)} (unexpected; SPORE_DEBUG=1 prints where)`);
    if (io.env.SPORE_DEBUG) note(String((error as Error).stack));
    return 1;
  }
}

/** `--label key=value`, repeatable; a malformed pair is bad usage. */
function collectLabel(value: string, previous: string[]): string[] {
  const equals = value.indexOf('=');
  if (equals <= 0 || !isLabelKey(value.slice(0, equals))) {
    throw new InvalidArgumentError('a label is key=value, the key of letters, digits, ".", "_", "/" and "-"');
  }
  return [...previous, value];
}

function asRange(value: string): string {
  if (semver.validRange(value) === null) throw new InvalidArgumentError('a SemVer range, such as "^1.2", ">=2 <3" or "1.x"');
  return value;
}

function asName(value: string): string {
  return usage(() => checkName(value));
}

function asVersion(value: string): string {
  return usage(() => checkVersion(value));
}

function asLabels(pairs: string[]): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const pair of pairs) {
    const equals = pair.indexOf('=');
    labels[pair.slice(0, equals)] = pair.slice(equals + 1);
  }
  try {
    return checkLabels(labels);
  } catch (error) {
    throw new UsageError(`--label: ${(error as Error).message}`);
  }
}

/** A value commander should reject as bad usage (exit 2), with the registry's own explanation. */
function usage<T>(check: () => T): T {
  try {
    return check();
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
}
