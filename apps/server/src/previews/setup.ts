import type { EventBus } from '../events/event-bus.js';
import type { Database } from '../infra/db/database.js';
import { requestFetches } from './preview-repo.js';
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
  // One statement per relay round, whatever the number of links created or changed in it.
  const offs = [
    bus.onBatch(['link.created', 'link.updated'], async (events) => {
      const latest = new Map<
        number,
        { linkId: number; url: string; status: 'pending' | 'skipped' }
      >();
      for (const e of events) {
        if ('changed' in e.data && !e.data.changed.includes('url')) continue; // link.updated
        const { id, url } = e.data.link;
        const own = ownHosts.has(new URL(url).hostname.toLowerCase());
        latest.delete(id); // keep event order: a later request for a link replaces the earlier
        latest.set(id, { linkId: id, url, status: own ? 'skipped' : 'pending' });
      }
      // Only the durable request is awaited here: the relay moves on, the worker fetches.
      const queued = await requestFetches(db, [...latest.values()]);
      if (queued > 0) worker.kick();
    }),
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
