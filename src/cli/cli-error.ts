/** A failure to report to the user in one line, with exit status 1 (2 is for bad usage). */
export class CliError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CliError';
  }
}
