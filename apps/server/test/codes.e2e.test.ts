import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CodeGenerator } from '../src/links/codes.js';
import { auth, startService, type TestService } from './helpers.js';

describe('aliases and generated codes share one namespace', () => {
  let svc: TestService;
  beforeAll(async () => {
    svc = await startService('embedded', { RATE_LIMIT_KEY_MAX: '2' });
  });
  afterAll(async () => svc?.close());

  const post = (payload: Record<string, unknown>) =>
    svc.built.app.inject({ method: 'POST', url: '/api/v1/links', headers: auth(), payload });

  it('when an alias already holds the code the next id would get, the link takes another code', async () => {
    const first = (await post({ url: 'https://first.example/' })).json<{ code: string }>();
    const [row] = await svc.built.runtime.db.query<{ id: number }>(
      'SELECT id FROM links WHERE code = $1',
      [first.code],
    );
    // Ids are handed out in order from the allocator's block: the next link gets id + 1.
    const generator = new CodeGenerator(svc.built.runtime.codeKey, svc.config.codeLength);
    const nextCode = generator.encode(row!.id + 1);
    // Squat the code through the service, as a user choosing that alias would.
    await svc.built.links.create(1, { url: 'https://squatter.example/', alias: nextCode });

    const second = (await post({ url: 'https://second.example/' })).json<{ code: string }>();
    expect(second.code).not.toBe(nextCode);
    expect(second.code).toBe(generator.encode(row!.id + 2));
    const squatted = await svc.built.app.inject({ method: 'GET', url: `/${nextCode}` });
    expect(squatted.headers.location).toBe('https://squatter.example/');
  });

  it('limits creation per API key: past the limit, 429 with Retry-After', async () => {
    const third = await post({ url: 'https://third.example/' });
    expect(third.statusCode).toBe(429);
    expect(third.headers['retry-after']).toBeDefined();
    expect(third.headers['ratelimit-limit']).toBe('2');
    expect(third.json()).toMatchObject({ code: 'rate_limited' });
  });
});
