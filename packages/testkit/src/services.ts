/**
 * Where the real services of server mode live, for suites that need them.
 *
 * Outside CI a missing variable means "this developer has no such service": the suite is
 * skipped and says so. With `CI=true` a missing or unreachable service is an error, so a
 * suite can never pass by silently not running.
 */
export type ServiceVariable = 'DATABASE_URL' | 'REDIS_URL' | 'NATS_URL' | 'KAFKA_BROKERS';

export function isCI(): boolean {
  const v = process.env['CI'];
  return v !== undefined && v !== '' && v !== '0' && v.toLowerCase() !== 'false';
}

/**
 * Returns the service URL named by `variable`, or `undefined` when it is not set outside CI
 * (the caller then skips). Throws in CI when it is missing.
 *
 * @example
 * const databaseUrl = serviceUrl('DATABASE_URL');
 * describe.skipIf(!databaseUrl)('PostgreSQL adapter', () => { ... });
 */
export function serviceUrl(variable: ServiceVariable): string | undefined {
  const value = process.env[variable];
  if (value !== undefined && value !== '') return value;
  if (isCI()) {
    throw new Error(`${variable} is not set: CI must run the suites that need it`);
  }
  console.warn(`[testkit] ${variable} is not set: skipping the suites that need it`);
  return undefined;
}

/**
 * Like {@link serviceUrl} but for kinds of service CI does not provide (Kafka): missing is
 * never an error, only a skip.
 */
export function optionalServiceUrl(variable: ServiceVariable): string | undefined {
  const value = process.env[variable];
  return value !== undefined && value !== '' ? value : undefined;
}
