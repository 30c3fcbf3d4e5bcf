import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * Paths that can hold a secret in anything we log. pino replaces them before a line
 * is written; secrets must also never be put into messages (see errors.ts).
 */
export const REDACT_PATHS = [
  'password',
  'secret',
  'token',
  'bind_password',
  '*.password',
  '*.secret',
  '*.token',
  '*.bind_password',
  '*.clients[*].secret',
  'radius.clients[*].secret',
  'directory.ldap.bind_password',
  'hmac_key',
  '*.hmac_key',
  'audit.hmac_key',
  'req.headers.cookie',
  'req.headers.authorization',
  'res.headers["set-cookie"]',
];

/** Structured JSON logs on stdout (or a given destination, for tests). */
export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  const options = {
    level,
    base: { service: 'enrollgate' },
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  return destination ? pino(options, destination) : pino(options);
}
