import pino, { type Logger } from 'pino';

/**
 * Structured JSON logs. Secrets, tokens, IBANs and request bodies are never logged; the redact list
 * is a safety net for the fields where they could slip in, and errors go through
 * {@link serializeError}, which keeps what explains a fault and drops the data it carried.
 */
export function createLogger(name: string, level = process.env.LOG_LEVEL ?? 'info', destination?: pino.DestinationStream): Logger {
  const options: pino.LoggerOptions = {
    name,
    level,
    serializers: { err: serializeError, error: serializeError },
    redact: {
      paths: ['*.authorization', '*.Authorization', '*.client_secret', '*.access_token', '*.iban', '*.debtorAccount', '*.creditorAccount'],
      censor: '[redacted]',
    },
  };
  return destination ? pino(options, destination) : pino(options);
}

/** Error properties that describe a fault without carrying request data. */
const SAFE_FIELDS = ['code', 'kind', 'httpStatus', 'status', 'errno', 'syscall', 'table', 'constraint', 'routine'] as const;
const MAX_CAUSES = 5;

export interface SerializedError {
  type: string;
  message?: string;
  stack?: string;
  cause?: SerializedError;
  [field: string]: unknown;
}

/**
 * An error as it may be logged. Database errors (TypeORM's QueryFailedError, pg's DatabaseError)
 * carry the SQL parameters (`parameters`), PostgreSQL's `detail` and `where` (which quote the
 * offending input, e.g. a whole JSON body) and a message that may quote a value: for those only
 * the SQLSTATE, table, constraint and routine are kept. Other errors keep message and stack; no
 * other enumerable property is copied, so data attached to an error never reaches the log.
 */
export function serializeError(err: unknown, depth = 0): SerializedError | unknown {
  if (!(err instanceof Error)) return err;
  const source = err as Error & Record<string, unknown>;
  const database = isDatabaseError(source);
  const out: SerializedError = { type: source.name || source.constructor?.name || 'Error' };
  if (!database) out.message = source.message;
  if (source.stack) out.stack = database ? stackFrames(source.stack) : source.stack;
  const driver = database && isObject(source.driverError) ? (source.driverError as Record<string, unknown>) : source;
  for (const field of SAFE_FIELDS) {
    const value = driver[field] ?? source[field];
    if (typeof value === 'string' || typeof value === 'number') out[field] = value;
  }
  // A failure's own type (Temporal's ApplicationFailure.type, express's parser error type).
  if (typeof source.type === 'string') out.failureType = source.type;
  if (source.cause !== undefined && depth < MAX_CAUSES) out.cause = serializeError(source.cause, depth + 1) as SerializedError;
  return out;
}

function isObject(value: unknown): value is object {
  return typeof value === 'object' && value !== null;
}

function isDatabaseError(err: Error & Record<string, unknown>): boolean {
  return err.name === 'QueryFailedError' || err.name === 'DatabaseError' || 'driverError' in err || ('query' in err && 'parameters' in err);
}

/** The stack without its first line, which repeats the message. */
function stackFrames(stack: string): string {
  const lines = stack.split('\n');
  return lines.filter((line) => line.trimStart().startsWith('at ')).join('\n');
}

export type { Logger };
