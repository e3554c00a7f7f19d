import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auth, availableModes, startService, type TestService } from './helpers.js';

const UA = 'Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0';

describe.each(availableModes())('GraphQL /graphql (%s mode)', (mode) => {
  let svc: TestService;
  let statements = 0;

  async function gql(query: string, variables?: Record<string, unknown>, headers = auth()) {
    return svc.built.app.inject({
      method: 'POST',
      url: '/graphql',
      headers,
      payload: { query, ...(variables !== undefined ? { variables } : {}) },
    });
  }

  beforeAll(async () => {
    svc = await startService(mode, {
      GRAPHQL_MAX_DEPTH: '4',
      GRAPHQL_MAX_COST: '1000',
      ...(mode === 'server' ? { ANALYTICS_WORKER: 'true' } : {}),
    });
    for (let i = 0; i < 5; i++) {
      await svc.built.app.inject({
        method: 'POST',
        url: '/api/v1/links',
        headers: auth(),
        payload: { url: `https://example.com/g${i}`, alias: `gql-${mode}-${i}`, tags: ['gql'] },
      });
    }
    for (let i = 0; i < 3; i++) {
      await svc.built.app.inject({
        method: 'GET',
        url: `/gql-${mode}-0`,
        remoteAddress: `81.2.69.${i}`,
        headers: { 'user-agent': UA },
      });
    }
    // Wait until the clicks are in the rollups.
    const until = Date.now() + 20_000;
    while (Date.now() < until) {
      const r = await svc.built.app.inject({
        method: 'GET',
        url: `/api/v1/links/gql-${mode}-0/analytics`,
        headers: auth(),
      });
      if (r.json<{ totals: { clicks: number } }>().totals.clicks >= 3) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    // Count the SQL statements the rollup loader sends (one per batch, not one per link).
    const db = svc.built.runtime.db;
    const query = db.query.bind(db);
    (db as { query: typeof db.query }).query = (async (
      sql: string,
      params?: readonly unknown[],
    ) => {
      if (sql.includes('FROM click_daily') && sql.includes('ANY($1::bigint[])')) statements++;
      return query(sql, params);
    }) as typeof db.query;
  });
  afterAll(async () => {
    await svc?.close();
  });

  it('answers links with their stats, batching the per-link rollup reads into one query', async () => {
    statements = 0;
    const res = await gql(
      `query($tag: String) { links(first: 10, tag: $tag) { nodes { code url tags status stats { clicks uniqueVisitors } } nextCursor } }`,
      { tag: 'gql' },
    );
    expect(res.statusCode).toBe(200);
    const body = res.json<{
      data: {
        links: { nodes: { code: string; stats: { clicks: number; uniqueVisitors: number } }[] };
      };
    }>();
    const nodes = body.data.links.nodes.filter((n) => n.code.startsWith(`gql-${mode}-`));
    expect(nodes).toHaveLength(5);
    expect(nodes.find((n) => n.code === `gql-${mode}-0`)!.stats).toEqual({
      clicks: 3,
      uniqueVisitors: 3,
    });
    expect(statements).toBe(1);
  });

  it('answers one link with its analytics report, and null for an unknown code', async () => {
    const res = await gql(
      `{ link(code: "gql-${mode}-0") { code analytics(interval: day) { totals { clicks uniqueVisitors } countries { value clicks } browsers { value clicks } } }
         missing: link(code: "nope") { code } }`,
    );
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({
      data: {
        link: {
          code: `gql-${mode}-0`,
          analytics: {
            totals: { clicks: 3, uniqueVisitors: 3 },
            countries: [{ value: 'GB', clicks: 3 }],
            browsers: [{ value: 'Firefox', clicks: 3 }],
          },
        },
        missing: null,
      },
    });
  });

  it('refuses a query deeper than the limit before running it', async () => {
    const res = await gql(`{ links { nodes { analytics { totals { clicks } series { t } } } } }`);
    expect(res.statusCode).toBe(400);
    expect(JSON.stringify(res.json())).toMatch(/depth/i);
  });

  it('refuses a query whose estimated cost is above the limit, counting list sizes', async () => {
    const res = await gql(
      `{ links(first: 200) { nodes { code url title tags stats { clicks uniqueVisitors } } } }`,
    );
    // Refused before execution: no data, a stable code and the computed cost.
    const body = res.json<{
      data: null;
      errors: { message: string; extensions: { code: string } }[];
    }>();
    expect(body.data).toBeNull();
    expect(body.errors[0]!.extensions.code).toBe('query_too_costly');
    expect(body.errors[0]!.message).toMatch(/costs 1601, more than the 1000 allowed/);
    const cheap = await gql(`{ links(first: 5) { nodes { code } } }`);
    expect(cheap.statusCode).toBe(200);
  });

  it('needs an API key like the REST API, and rejects bad arguments with a clear error', async () => {
    const res = await gql('{ links { nodes { code } } }', undefined, {} as ReturnType<typeof auth>);
    expect(res.statusCode).toBe(401);
    expect(res.json()).toMatchObject({ code: 'unauthorized' });
    const bad = await gql('{ analytics(from: "yesterday") { totals { clicks } } }');
    expect(
      bad.json<{ errors: { extensions?: { code?: string } }[] }>().errors[0]!.extensions,
    ).toEqual({ code: 'validation_failed' });
  });
});
