/** A failure to report to the user in one line, with exit status 1. */
export class CliError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CliError';
  }
}

/**
 * Bad usage found after commander has parsed the arguments (a setting from the environment,
 * say): one line, and exit status 2 like any other bad usage.
 */
export class UsageError extends CliError {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}
