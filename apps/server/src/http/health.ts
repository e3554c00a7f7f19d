import type { FastifyInstance } from 'fastify';
import type { Runtime } from '../infra/runtime.js';
import type { Metrics } from './metrics.js';

/** Liveness, readiness (database and cache answer) and Prometheus metrics. */
export async function healthRoutes(
  app: FastifyInstance,
  opts: { runtime: Runtime; metrics: Metrics },
): Promise<void> {
  const { runtime, metrics } = opts;
  app.get('/healthz', { schema: { hide: true } }, async () => ({ status: 'ok' }));

  app.get('/readyz', { schema: { hide: true } }, async (_req, reply) => {
    const check = async (fn: () => Promise<unknown>) => {
      try {
        await fn();
        return 'ok';
      } catch (err) {
        return `error: ${(err as Error).message}`;
      }
    };
    const [database, cache] = await Promise.all([
      check(() => runtime.db.query('SELECT 1')),
      check(() => runtime.cache.ping()),
    ]);
    const ready = database === 'ok' && cache === 'ok';
    return reply
      .code(ready ? 200 : 503)
      .send({ status: ready ? 'ready' : 'not ready', mode: runtime.mode, database, cache });
  });

  app.get('/metrics', { schema: { hide: true } }, async (_req, reply) =>
    reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()),
  );
}
