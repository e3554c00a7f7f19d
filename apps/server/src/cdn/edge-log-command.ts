import { hostname } from 'node:os';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import type { Config } from '../config.js';
import { EDGE_LOG_FORMAT, ingestEdgeLog } from './edge-log.js';

/**
 * `varnishncsa -F "$(linkforge edge-log --print-format)" | linkforge edge-log`: counts the
 * clicks the edge served into the same sinks as the redirect (click counter, analytics stream).
 */
export async function runEdgeLog(config: Config, args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { source: { type: 'string' }, 'print-format': { type: 'boolean' } },
  });
  if (values['print-format']) {
    console.log(EDGE_LOG_FORMAT);
    return 0;
  }
  const { buildApp } = await import('../app.js');
  const built = await buildApp({ ...config, bootstrapApiKey: undefined });
  const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
  let stopping = false;
  const stop = () => {
    stopping = true;
    lines.close();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  try {
    const stats = await ingestEdgeLog(lines, {
      source: values.source ?? hostname(),
      sink: built.clickSink,
      lookup: async (code) => (await built.resolver.lookup(code))?.id,
    });
    console.error(
      `edge-log: ${stats.lines} lines, ${stats.counted} clicks counted, ${stats.skipped} skipped, ${stats.malformed} malformed${stopping ? ' (stopped)' : ''}`,
    );
    return 0;
  } finally {
    await built.app.close(); // flushes buffered clicks and published events
  }
}
