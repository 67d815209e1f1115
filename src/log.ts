/**
 * Structured logging: one JSON object per line, so logs can be read by machines and grepped
 * by people. The shape (`level`, `time`, `msg`, then fields) follows pino's, which the
 * operating work will bring in.
 */
export type LogFields = Record<string, unknown>;

export interface Logger {
  info(fields: LogFields, message: string): void;
  warn(fields: LogFields, message: string): void;
  error(fields: LogFields, message: string): void;
}

export function createLogger(write: (line: string) => void = (line) => process.stdout.write(line)): Logger {
  const emit = (level: string) => (fields: LogFields, message: string) => {
    write(`${JSON.stringify({ level, time: new Date().toISOString(), msg: message, ...fields }, errorFields)}\n`);
  };
  return { info: emit('info'), warn: emit('warn'), error: emit('error') };
}

export const silentLogger: Logger = { info() {}, warn() {}, error() {} };

/** Errors serialise to their message, code and stack instead of `{}`. */
function errorFields(_key: string, value: unknown): unknown {
  if (value instanceof Error) {
    const { code } = value as NodeJS.ErrnoException;
    return { type: value.name, message: value.message, ...(code ? { code } : {}), stack: value.stack };
  }
  return value;
}
