import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_KEY, auth, availableModes, startService, type TestService } from './helpers.js';

describe.each(availableModes())('billing API and premium aliases (%s)', (mode) => {
  let svc: TestService;
  // Every test works in a workspace of its own, so balances do not leak between tests.
  const workspaces: { admin: string; member: string }[] = [];
  const inject = (options: InjectOptions) => svc.built.app.inject(options);

  beforeAll(async () => {
    svc = await startService(mode);
  });
  afterAll(async () => {
    await svc?.close();
  });

  /** A fresh workspace with an admin key. */
  async function workspace(): Promise<{ id: number; admin: string; member: string }> {
    const slug = `ws-${mode}-${workspaces.length}-${Date.now()}`;
    const [row] = await svc.built.runtime.db.query<{ id: number }>(
      `INSERT INTO workspaces (slug, name) VALUES ($1, $1) RETURNING id`,
      [slug],
    );
    const admin = (await svc.built.keys.create(row!.id, 'admin', 'admin')).key;
    const member = (await svc.built.keys.create(row!.id, 'member', 'member')).key;
    workspaces.push({ admin, member });
    return { id: row!.id, admin, member };
  }

  const deposit = (key: string, payload: Record<string, unknown>) =>
    inject({ method: 'POST', url: '/api/v1/billing/credits', headers: auth(key), payload });
  const balance = async (key: string) =>
    (await inject({ method: 'GET', url: '/api/v1/billing/balance', headers: auth(key) })).json<{
      balance: number;
      version: number;
    }>();
  const createLink = (key: string, alias: string) =>
    inject({
      method: 'POST',
      url: '/api/v1/links',
      headers: auth(key),
      payload: { url: `https://example.com/${alias}`, alias },
    });

  it('a new workspace has no credits and shows what premium aliases cost', async () => {
    const ws = await workspace();
    const res = await inject({
      method: 'GET',
      url: '/api/v1/billing/balance',
      headers: auth(ws.member),
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({
      workspaceId: ws.id,
      balance: 0,
      version: 0,
      premiumAlias: { maxLength: 4, cost: 1 },
    });
  });

  it('an admin key adds credits; the balance is the sum of the deposits', async () => {
    const ws = await workspace();
    const first = await deposit(ws.admin, { amount: 7, note: 'welcome' });
    expect(first.statusCode).toBe(201);
    expect(first.json()).toMatchObject({ balance: 7, version: 1 });
    expect((await deposit(ws.admin, { amount: 5 })).json()).toMatchObject({ balance: 12 });
    expect(await balance(ws.member)).toMatchObject({ balance: 12, version: 2 });
  });

  it('a member key may not add credits (403), and nothing changes', async () => {
    const ws = await workspace();
    const res = await deposit(ws.member, { amount: 5 });
    expect(res.statusCode).toBe(403);
    expect(await balance(ws.admin)).toMatchObject({ balance: 0, version: 0 });
    const anonymous = await inject({
      method: 'POST',
      url: '/api/v1/billing/credits',
      payload: { amount: 5 },
    });
    expect(anonymous.statusCode).toBe(401);
  });

  it.each([0, -3, 1.5, '10', null, 1_000_001, 2 ** 53])(
    'refuses the amount %j with 400 and changes nothing',
    async (amount) => {
      const ws = await workspace();
      const res = await deposit(ws.admin, { amount });
      expect(res.statusCode).toBe(400);
      expect(res.headers['content-type']).toContain('application/problem+json');
      expect(res.json()).toMatchObject({ code: 'validation_failed' });
      expect(await balance(ws.admin)).toMatchObject({ balance: 0, version: 0 });
    },
  );

  it('refuses a body without amount or with unknown fields', async () => {
    const ws = await workspace();
    expect((await deposit(ws.admin, {})).statusCode).toBe(400);
    expect((await deposit(ws.admin, { amount: 1, workspaceId: 99 })).statusCode).toBe(400);
    expect(await balance(ws.admin)).toMatchObject({ balance: 0 });
  });

  it('creating a premium alias without credits answers 402 and creates nothing', async () => {
    const ws = await workspace();
    const res = await createLink(ws.member, 'vip1');
    expect(res.statusCode).toBe(402);
    expect(res.headers['content-type']).toContain('application/problem+json');
    expect(res.json()).toMatchObject({
      code: 'payment_required',
      status: 402,
      title: 'Not enough credits',
    });
    expect(res.json<{ detail: string }>().detail).toMatch(/premium.*1 credit.*has 0/);
    expect((await inject({ method: 'GET', url: '/vip1' })).statusCode).toBe(404);
    const rows = await svc.built.runtime.db.query(`SELECT 1 FROM links WHERE code = 'vip1'`);
    expect(rows).toHaveLength(0);
    expect(await balance(ws.admin)).toMatchObject({ balance: 0, version: 0 });
  });

  it('a premium alias debits its cost, records the debit with the link, and writes link.created', async () => {
    const ws = await workspace();
    await deposit(ws.admin, { amount: 2 });
    const alias = mode === 'embedded' ? 'pe1' : 'ps1';
    const announced: string[] = [];
    const off = svc.built.analytics.bus.on('link.created', (e) => {
      announced.push(e.data.link.code);
    });
    const res = await createLink(ws.member, alias);
    expect(res.statusCode).toBe(201);
    const link = res.json<{ code: string; id: number }>();
    expect(link.code).toBe(alias);
    expect(await balance(ws.admin)).toMatchObject({ balance: 1, version: 2 });

    const ledger = await inject({
      method: 'GET',
      url: '/api/v1/billing/ledger',
      headers: auth(ws.member),
    });
    expect(ledger.statusCode).toBe(200);
    const items = ledger.json<{ items: { type: string; delta: number; reference?: object }[] }>()
      .items;
    expect(items[0]).toMatchObject({
      type: 'CreditsDebited',
      amount: 1,
      delta: -1,
      reference: { kind: 'premium-alias', alias },
    });
    expect(items[1]).toMatchObject({ type: 'CreditsDeposited', delta: 2 });

    for (let i = 0; i < 500 && !announced.includes(alias); i++)
      await new Promise((r) => setTimeout(r, 20));
    off();
    expect(announced).toContain(alias);
    expect((await inject({ method: 'GET', url: `/${alias}` })).statusCode).toBe(302);
  });

  it('a taken premium alias answers 409 and costs nothing', async () => {
    const ws = await workspace();
    await deposit(ws.admin, { amount: 3 });
    const alias = mode === 'embedded' ? 'te1' : 'ts1';
    expect((await createLink(ws.member, alias)).statusCode).toBe(201);
    const again = await createLink(ws.member, alias);
    expect(again.statusCode).toBe(409);
    expect(again.json()).toMatchObject({ code: 'alias_taken' });
    expect(await balance(ws.admin)).toMatchObject({ balance: 2 });
  });

  it('aliases longer than PREMIUM_ALIAS_MAX_LENGTH and generated codes are free', async () => {
    const ws = await workspace();
    expect((await createLink(ws.member, `free-${mode}`)).statusCode).toBe(201);
    const generated = await inject({
      method: 'POST',
      url: '/api/v1/links',
      headers: auth(ws.member),
      payload: { url: 'https://example.com/generated' },
    });
    expect(generated.statusCode).toBe(201);
    expect(await balance(ws.admin)).toMatchObject({ balance: 0, version: 0 });
  });

  it('in a bulk request, a premium alias without credits fails alone', async () => {
    const ws = await workspace();
    await deposit(ws.admin, { amount: 1 });
    const a = mode === 'embedded' ? 'be1' : 'bs1';
    const b = mode === 'embedded' ? 'be2' : 'bs2';
    const res = await inject({
      method: 'POST',
      url: '/api/v1/links/bulk',
      headers: auth(ws.member),
      payload: {
        links: [
          { url: 'https://example.com/1', alias: a },
          { url: 'https://example.com/2' },
          { url: 'https://example.com/3', alias: b },
        ],
      },
    });
    expect(res.statusCode).toBe(200);
    const body = res.json<{ results: { ok: boolean; error?: { code: string } }[] }>();
    expect(body.results.map((r) => r.ok)).toEqual([true, true, false]);
    expect(body.results[2]!.error!.code).toBe('payment_required');
    expect(await balance(ws.admin)).toMatchObject({ balance: 0 });
  });

  it('pages through the ledger newest first', async () => {
    const ws = await workspace();
    for (let i = 1; i <= 5; i++) await deposit(ws.admin, { amount: i });
    const page = async (query: string) =>
      (
        await inject({
          method: 'GET',
          url: `/api/v1/billing/ledger${query}`,
          headers: auth(ws.member),
        })
      ).json<{ items: { amount: number; version: number }[]; nextBefore: number | null }>();
    const first = await page('?limit=2');
    expect(first.items.map((e) => e.amount)).toEqual([5, 4]);
    const second = await page(`?limit=2&before=${first.nextBefore}`);
    expect(second.items.map((e) => e.amount)).toEqual([3, 2]);
    const third = await page(`?limit=2&before=${second.nextBefore}`);
    expect(third.items.map((e) => e.amount)).toEqual([1]);
    expect(third.nextBefore).toBeNull();
    const bad = await inject({
      method: 'GET',
      url: '/api/v1/billing/ledger?limit=0',
      headers: auth(ws.member),
    });
    expect(bad.statusCode).toBe(400);
  });

  it('the default workspace (anonymous links) pays too: 402 without credits', async () => {
    const res = await inject({
      method: 'POST',
      url: '/api/v1/links',
      payload: { url: 'https://example.com/anon', alias: mode === 'embedded' ? 'an1' : 'an2' },
    });
    expect(res.statusCode).toBe(402);
    expect(await balance(ADMIN_KEY)).toMatchObject({ balance: 0 });
  });
});
