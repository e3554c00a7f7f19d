import { randomUUID } from 'node:crypto';
import type { EventBus } from '../events/event-bus.js';
import type { ClickEvent, ClickSink } from '../links/click-buffer.js';

/**
 * The redirect's clicks as `link.clicked` domain events on the bus: synchronous, no I/O, so
 * the redirect path stays as cheap as before. The click publisher subscribes to them.
 */
export class BusClickSink implements ClickSink {
  constructor(private readonly bus: EventBus) {}

  record(click: ClickEvent): void {
    if (!this.bus.has('link.clicked')) return;
    this.bus.emit({
      id: click.eventId ?? randomUUID(),
      type: 'link.clicked',
      occurredAt: new Date(click.at).toISOString(),
      data: click,
    });
  }
}

/** Hands every click to each of `sinks` (the click counter and the analytics events). */
export function composeSinks(...sinks: ClickSink[]): ClickSink {
  return {
    record(click) {
      for (const s of sinks) s.record(click);
    },
  };
}
