/**
 * Child process of billing-recovery.e2e.test.ts: claims one premium alias through the real
 * LinkService and two-phase commit, and SIGKILLs itself at the protocol step named by
 * CRASH_AT (`prepared`: both databases prepared, nothing decided; `decided`: commit decided
 * and logged, nothing committed yet).
 */
import { startBilling } from '../src/billing/setup.js';
import { loadConfig } from '../src/config.js';
import { MemoryLinkCache } from '../src/infra/cache/memory-cache.js';
import { migrate } from '../src/infra/db/migrate.js';
import { openPostgres } from '../src/infra/db/postgres.js';
import { CodeGenerator } from '../src/links/codes.js';
import { IdAllocator } from '../src/links/id-allocator.js';
import { LinkService } from '../src/links/link-service.js';

const crashAt = process.env['CRASH_AT'];
const alias = process.env['ALIAS']!;
const config = loadConfig(process.env);
const db = await openPostgres(config.databaseUrl!, 4);
await migrate(db);
const billing = await startBilling({
  config,
  db,
  onTwoPhaseStep: (step) => {
    if (step.type === crashAt) process.kill(process.pid, 'SIGKILL');
  },
});
const links = new LinkService({
  db,
  cache: new MemoryLinkCache({ ttlSeconds: 60, negativeTtlSeconds: 60, maxEntries: 100 }),
  codes: new CodeGenerator(Buffer.alloc(32, 7), 6),
  ids: new IdAllocator(db),
  ownHosts: new Set(),
  aliasGate: billing.gate!,
});
await links.create(1, { url: `https://example.com/${alias}`, alias });
// Reaching this line means the crash point was never hit.
process.exit(3);
