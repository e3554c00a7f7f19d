import type { FastifyBaseLogger } from 'fastify';
import type { CdnConfig } from '../config.js';
import type { EventBus } from '../events/event-bus.js';
import type { LinkSnapshot } from '../events/domain-events.js';
import { surrogateKeys } from './cache-policy.js';
import { CloudflarePurger } from './purge/cloudflare.js';
import { CloudFrontPurger } from './purge/cloudfront.js';
import { FastlyPurger } from './purge/fastly.js';
import { PurgeQueue } from './purge/purge-queue.js';
import type { Purger, PurgeRequest } from './purge/purger.js';
import { VarnishPurger } from './purge/varnish.js';

export function createPurger(config: CdnConfig, publicBaseUrl: string): Purger | undefined {
  const p = config.purge;
  switch (p.provider) {
    case 'none':
      return undefined;
    case 'varnish':
      return new VarnishPurger(p.urls);
    case 'fastly':
      return new FastlyPurger({ apiToken: p.apiToken, serviceId: p.serviceId, publicBaseUrl });
    case 'cloudflare':
      return new CloudflarePurger({ apiToken: p.apiToken, zoneId: p.zoneId, publicBaseUrl });
    case 'cloudfront':
      return new CloudFrontPurger({ distributionId: p.distributionId });
  }
}

/** What a change to a link purges: its keys, and its paths for CDNs without tags. */
export function purgeRequestFor(
  link: Pick<LinkSnapshot, 'id' | 'workspaceId' | 'code'>,
): PurgeRequest {
  return { keys: surrogateKeys(link), paths: [`/${link.code}`, `/${link.code}+`] };
}

/**
 * Purges a link's cached answers at the CDN after each committed change. The events come from
 * the transactional outbox, so a change whose purge did not happen (crash) is delivered again.
 */
export function startPurging(
  bus: EventBus,
  purger: Purger,
  log: FastifyBaseLogger,
  onPurged?: (request: PurgeRequest) => void,
): { queue: PurgeQueue; stop: () => Promise<void> } {
  const queue = new PurgeQueue(purger, {
    onError: (err, attempt) =>
      log.warn({ err, attempt, provider: purger.name }, 'CDN purge failed'),
    ...(onPurged ? { onPurged } : {}),
  });
  // Returning the purge's promise makes the outbox relay deliver the event again if it failed.
  const enqueue = (e: { data: { link: LinkSnapshot } }) =>
    queue.enqueue(purgeRequestFor(e.data.link));
  const offs = [bus.on('link.updated', enqueue), bus.on('link.deleted', enqueue)];
  return {
    queue,
    async stop() {
      for (const off of offs) off();
      await queue.flush();
    },
  };
}
