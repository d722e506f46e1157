import pino, { type Logger } from 'pino';

/**
 * Structured JSON logs. Secrets, tokens and IBANs are never logged; the redact list is a safety
 * net for the fields where they could slip in.
 */
export function createLogger(name: string, level = process.env.LOG_LEVEL ?? 'info'): Logger {
  return pino({
    name,
    level,
    redact: {
      paths: ['*.authorization', '*.Authorization', '*.client_secret', '*.access_token', '*.iban', '*.debtorAccount', '*.creditorAccount'],
      censor: '[redacted]',
    },
  });
}

export type { Logger };
