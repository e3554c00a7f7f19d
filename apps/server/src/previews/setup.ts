import type { EventBus } from '../events/event-bus.js';
import type { LinkSnapshot } from '../events/domain-events.js';
import type { Database } from '../infra/db/database.js';
import { requestFetch } from './preview-repo.js';
import { PreviewWorker, type PreviewFetcher } from './preview-worker.js';

/**
 * Subscribes link previews to the domain events: `link.created`, and `link.updated` when the
 * URL changed, ask for a fetch; the worker does it off the event path. Links to this service
 * (file links) are never fetched: their preview comes from the file.
 */
export function startPreviews(options: {
  readonly bus: EventBus;
  readonly db: Database;
  readonly fetcher: PreviewFetcher;
  readonly ownHosts: ReadonlySet<string>;
  readonly onError: (err: unknown) => void;
}): { worker: PreviewWorker; stop: () => Promise<void> } {
  const { bus, db, fetcher, ownHosts } = options;
  const worker = new PreviewWorker(db, fetcher, { onError: options.onError });
  const request = async (link: LinkSnapshot) => {
    const own = ownHosts.has(new URL(link.url).hostname.toLowerCase());
    // Only the durable request is awaited here: the relay moves on, the worker fetches.
    const queued = await requestFetch(db, link.id, link.url, own ? 'skipped' : 'pending');
    if (queued && !own) worker.kick();
  };
  const offs = [
    bus.on('link.created', (e) => request(e.data.link)),
    bus.on('link.updated', (e) =>
      e.data.changed.includes('url') ? request(e.data.link) : undefined,
    ),
  ];
  worker.start();
  return {
    worker,
    async stop() {
      for (const off of offs) off();
      await worker.close();
    },
  };
}
