import { expectOk, type PurgeRequest, type Purger } from './purger.js';

/**
 * Varnish (deploy/varnish/linkforge.vcl): `PURGE /` with `xkey-purge: k1 k2 …` removes every
 * object tagged with a key (vmod xkey); `PURGE /path` removes one URL. Sent to every Varnish
 * listed, since each keeps its own cache.
 */
export class VarnishPurger implements Purger {
  readonly name = 'varnish';
  readonly maxBatch = 100;

  constructor(
    private readonly endpoints: readonly string[],
    private readonly timeoutMs = 5000,
  ) {
    if (endpoints.length === 0) throw new Error('VarnishPurger needs at least one Varnish URL');
  }

  async purge(request: PurgeRequest): Promise<void> {
    await Promise.all(
      this.endpoints.map(async (base) => {
        const calls: Promise<void>[] = [];
        if (request.keys.length > 0) {
          calls.push(this.#send(new URL('/', base), { 'xkey-purge': request.keys.join(' ') }));
        }
        for (const path of request.paths) calls.push(this.#send(new URL(path, base), {}));
        await Promise.all(calls);
      }),
    );
  }

  async #send(url: URL, headers: Record<string, string>): Promise<void> {
    const res = await fetch(url, {
      method: 'PURGE',
      headers,
      signal: AbortSignal.timeout(this.timeoutMs),
    });
    await expectOk(this.name, res);
  }
}
