import { createHash } from 'node:crypto';
import { isbot } from 'isbot';
import type { ClickEvent, ClickSink } from '../links/click-buffer.js';

/**
 * The varnishncsa format the ingester reads: NCSA combined, then the transaction id (for
 * idempotency) and whether the origin already counted the click (set by the VCL from the
 * origin's `X-Linkforge-Counted` header).
 */
export const EDGE_LOG_FORMAT =
  '%h %l %u %t "%m %U%q %H" %s %b "%{Referer}i" "%{User-agent}i" %{Varnish:vxid}x %{VCL_Log:lf_counted}x';

const LINE =
  /^(\S+) \S+ \S+ \[([^\]]+)\] "(\S+) (\S+)[^"]*" (\d{3}) \S+ "(.*)" "(.*)" (\S+)(?: (\S*))?$/;
const CODE_PATH = /^\/([A-Za-z0-9_-]{1,64})(?:\?.*)?$/;
const MONTHS: Record<string, string> = {
  Jan: '01',
  Feb: '02',
  Mar: '03',
  Apr: '04',
  May: '05',
  Jun: '06',
  Jul: '07',
  Aug: '08',
  Sep: '09',
  Oct: '10',
  Nov: '11',
  Dec: '12',
};

export interface EdgeLogLine {
  readonly ip: string;
  readonly at: number;
  readonly method: string;
  readonly path: string;
  readonly status: number;
  readonly referrer: string | undefined;
  readonly userAgent: string | undefined;
  readonly vxid: string;
  readonly countedByOrigin: boolean;
}

/** `25/Nov/2026:22:20:00 +0000` → epoch ms. */
function parseTime(t: string): number {
  const m = /^(\d{2})\/(\w{3})\/(\d{4}):(\d{2}):(\d{2}):(\d{2}) ([+-]\d{2})(\d{2})$/.exec(t);
  if (m === null || MONTHS[m[2]!] === undefined) return Number.NaN;
  return Date.parse(`${m[3]}-${MONTHS[m[2]!]}-${m[1]}T${m[4]}:${m[5]}:${m[6]}${m[7]}:${m[8]}`);
}

const dash = (v: string | undefined) => (v === undefined || v === '-' || v === '' ? undefined : v);

export function parseEdgeLogLine(line: string): EdgeLogLine | undefined {
  const m = LINE.exec(line.trimEnd());
  if (m === null) return undefined;
  const at = parseTime(m[2]!);
  if (Number.isNaN(at)) return undefined;
  return {
    ip: m[1]!,
    at,
    method: m[3]!,
    // varnishncsa's %r gives an absolute URL; %U%q a path. Accept both.
    path: m[4]!.replace(/^https?:\/\/[^/]+/i, ''),
    status: Number(m[5]),
    referrer: dash(m[6]),
    userAgent: dash(m[7]),
    vxid: m[8]!,
    countedByOrigin: m[9] === '1',
  };
}

export interface EdgeIngestStats {
  lines: number;
  counted: number;
  skipped: number;
  malformed: number;
}

export interface EdgeIngestDeps {
  /** Link id of a code, or undefined when there is none. */
  readonly lookup: (code: string) => Promise<number | undefined>;
  readonly sink: ClickSink;
  /** Names this edge node: vxids are unique per node and restart. */
  readonly source: string;
}

/** A stable UUID for a log line, so that reading the same log twice counts nothing twice. */
function eventId(source: string, line: EdgeLogLine): string {
  const h = createHash('sha256')
    .update(`${source}\n${line.vxid}\n${line.at}\n${line.path}`)
    .digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${((parseInt(h[16]!, 16) & 3) | 8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/**
 * Counts the clicks an edge served, from its access log (edge caching mode): a GET answered
 * with a redirect, not by a bot, and not already counted by the origin (links with an expiry or
 * click cap are always passed to the origin, which counts them itself).
 */
export async function ingestEdgeLog(
  lines: AsyncIterable<string>,
  deps: EdgeIngestDeps,
): Promise<EdgeIngestStats> {
  const stats: EdgeIngestStats = { lines: 0, counted: 0, skipped: 0, malformed: 0 };
  for await (const raw of lines) {
    if (raw.trim() === '') continue;
    stats.lines++;
    const line = parseEdgeLogLine(raw);
    if (line === undefined) {
      stats.malformed++;
      continue;
    }
    const code = CODE_PATH.exec(line.path)?.[1];
    const isRedirect = line.status >= 301 && line.status <= 308 && line.status !== 304;
    if (
      line.method !== 'GET' ||
      !isRedirect ||
      code === undefined ||
      line.countedByOrigin ||
      isbot(line.userAgent)
    ) {
      stats.skipped++;
      continue;
    }
    const linkId = await deps.lookup(code);
    if (linkId === undefined) {
      stats.skipped++;
      continue;
    }
    const click: ClickEvent = {
      linkId,
      code,
      at: line.at,
      ip: line.ip,
      userAgent: line.userAgent,
      referrer: line.referrer,
      eventId: eventId(deps.source, line),
    };
    deps.sink.record(click);
    stats.counted++;
  }
  return stats;
}
