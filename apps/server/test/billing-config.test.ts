import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.js';

const PG = 'postgres://u@127.0.0.1:5432/links';

describe('billing configuration', () => {
  it('defaults: ledger in the links database, aliases of up to 4 characters cost 1 credit', () => {
    expect(loadConfig({}).billing).toEqual({
      databaseUrl: undefined,
      coordinatorDatabaseUrl: undefined,
      premiumAliasMaxLength: 4,
      premiumAliasCost: 1,
    });
  });

  it('reads a separate billing database and coordinator log in server mode', () => {
    const billing = loadConfig({
      DATABASE_URL: PG,
      BILLING_DATABASE_URL: 'postgresql://u@10.0.0.2/billing',
      BILLING_COORDINATOR_DATABASE_URL: 'postgres://u@127.0.0.1/txlog',
      PREMIUM_ALIAS_MAX_LENGTH: '5',
      PREMIUM_ALIAS_COST: '3',
    }).billing;
    expect(billing).toEqual({
      databaseUrl: 'postgresql://u@10.0.0.2/billing',
      coordinatorDatabaseUrl: 'postgres://u@127.0.0.1/txlog',
      premiumAliasMaxLength: 5,
      premiumAliasCost: 3,
    });
  });

  it('treats BILLING_DATABASE_URL equal to DATABASE_URL as the same database', () => {
    expect(loadConfig({ DATABASE_URL: PG, BILLING_DATABASE_URL: PG }).billing.databaseUrl).toBe(
      undefined,
    );
  });

  it('0 turns premium aliases off', () => {
    expect(loadConfig({ PREMIUM_ALIAS_MAX_LENGTH: '0' }).billing.premiumAliasMaxLength).toBe(0);
    expect(loadConfig({ PREMIUM_ALIAS_COST: '0' }).billing.premiumAliasCost).toBe(0);
  });

  it.each([
    [{ BILLING_DATABASE_URL: 'mysql://x/y', DATABASE_URL: PG }, 'BILLING_DATABASE_URL'],
    [{ BILLING_DATABASE_URL: 'not a url', DATABASE_URL: PG }, 'BILLING_DATABASE_URL'],
    [{ BILLING_DATABASE_URL: PG.replace('links', 'billing') }, 'BILLING_DATABASE_URL'],
    [{ BILLING_COORDINATOR_DATABASE_URL: 'http://x' }, 'BILLING_COORDINATOR_DATABASE_URL'],
    [{ PREMIUM_ALIAS_MAX_LENGTH: '65' }, 'PREMIUM_ALIAS_MAX_LENGTH'],
    [{ PREMIUM_ALIAS_MAX_LENGTH: '-1' }, 'PREMIUM_ALIAS_MAX_LENGTH'],
    [{ PREMIUM_ALIAS_MAX_LENGTH: 'four' }, 'PREMIUM_ALIAS_MAX_LENGTH'],
    [{ PREMIUM_ALIAS_COST: '1.5' }, 'PREMIUM_ALIAS_COST'],
    [{ PREMIUM_ALIAS_COST: '1000001' }, 'PREMIUM_ALIAS_COST'],
  ])('refuses %j naming %s', (env, variable) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(variable);
  });
});
