import { Writable } from 'node:stream';
import pino from 'pino';
import { QueryFailedError } from 'typeorm';
import { serializeError } from './logger';

/** What a JSON body with a NUL character looked like when PostgreSQL refused it (pg's DatabaseError fields). */
const BODY = '{"creditorName":"Enterprise GmbH","creditorAccount":{"iban":"NL91ABNA0417164300"},"remittanceInformationUnstructured":"a\\u0000b"}';
function refusedJsonInsert(): QueryFailedError {
  const driverError = Object.assign(new Error('unsupported Unicode escape sequence'), {
    name: 'DatabaseError',
    code: '22P05',
    detail: '\\u0000 cannot be converted to text.',
    where: `JSON data, line 1: ${BODY}`,
    routine: 'json_errsave_error',
    table: undefined,
  });
  return new QueryFailedError('INSERT INTO "payments"("body", "psu_ip_address") VALUES ($1, $2)', [BODY, '192.0.2.10'], driverError);
}

function logLine(log: (logger: pino.Logger) => void): string {
  let out = '';
  const sink = new Writable({ write(chunk, _enc, done) { out += chunk.toString(); done(); } });
  log(pino({ serializers: { err: serializeError } }, sink));
  return out;
}

describe('serializeError', () => {
  it('keeps SQLSTATE and routine of a database error, and none of the data it carried', () => {
    const line = logLine((logger) => logger.error({ err: refusedJsonInsert() }, 'unhandled error'));
    const logged = JSON.parse(line).err;
    expect(logged).toMatchObject({ type: 'QueryFailedError', code: '22P05', routine: 'json_errsave_error' });
    for (const secret of ['NL91ABNA0417164300', 'Enterprise GmbH', '192.0.2.10', 'remittanceInformation', 'INSERT INTO', 'JSON data']) {
      expect(line).not.toContain(secret);
    }
    expect(logged.stack).toMatch(/^\s+at /);
  });

  it('keeps message, stack and safe fields of other errors, never their other properties', () => {
    const err = Object.assign(new Error('bank timed out'), { code: 'ETIMEDOUT', body: { iban: 'DE89370400440532013000' }, requestBody: 'PSU secret' });
    const logged = serializeError(err) as Record<string, unknown>;
    expect(logged).toMatchObject({ type: 'Error', message: 'bank timed out', code: 'ETIMEDOUT' });
    expect(JSON.stringify(logged)).not.toMatch(/DE89370400440532013000|PSU secret/);
  });

  it('follows causes, a few levels deep, with the same rules', () => {
    const err = new Error('activity failed', { cause: refusedJsonInsert() });
    const logged = serializeError(err) as { cause: Record<string, unknown> };
    expect(logged.cause).toMatchObject({ type: 'QueryFailedError', code: '22P05' });
    expect(JSON.stringify(logged)).not.toContain('NL91ABNA0417164300');
  });

  it('leaves non-errors alone', () => {
    expect(serializeError('text')).toBe('text');
  });
});
