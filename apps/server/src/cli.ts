#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { defaultWorkspaceId, ApiKeyService, type Role } from './auth/api-keys.js';
import { ConfigError, loadConfig, type Config } from './config.js';
import { isAppError } from './errors.js';
import { openDatabase } from './infra/runtime.js';
import { migrate } from './infra/db/migrate.js';

const USAGE = `Usage: linkforge <command> [options]

Commands:
  serve                      start the HTTP service (default)
  migrate                    apply database migrations and exit
  worker [--consumers N] [--batch-size N]
                             consume click events into analytics (server mode)
  shorten <url> [--alias A] [--expires-at ISO]
                             create a short link in the default workspace
  edge-log [--source NAME] [--print-format]
                             count clicks from a Varnish access log read on stdin
                             (edge caching mode; see docs/cdn.md)
  keys create [--name N] [--role admin|member]
                             create an API key of the default workspace (shown once)

Configuration comes from the environment; see README.md.`;

async function main(argv: string[]): Promise<number> {
  const [command = 'serve', ...rest] = argv;
  if (command === '--help' || command === '-h' || command === 'help') {
    console.log(USAGE);
    return 0;
  }
  const config = loadConfig();
  switch (command) {
    case 'serve': {
      // Loaded on demand: the service's modules are heavy, and the other commands (and a bad
      // configuration) should answer without paying for them.
      const { serve } = await import('./main.js');
      await serve(config);
      return 0;
    }
    case 'migrate':
      return runMigrate(config);
    case 'worker': {
      const { runWorker } = await import('./analytics/worker-command.js');
      return runWorker(config, rest);
    }
    case 'edge-log': {
      const { runEdgeLog } = await import('./cdn/edge-log-command.js');
      return runEdgeLog(config, rest);
    }
    case 'shorten':
      return runShorten(config, rest);
    case 'keys':
      return runKeys(config, rest);
    default:
      console.error(`Unknown command "${command}".\n\n${USAGE}`);
      return 2;
  }
}

async function withDatabase<T>(
  config: Config,
  fn: (db: Awaited<ReturnType<typeof openDatabase>>['db']) => Promise<T>,
): Promise<T> {
  const { db, release } = await openDatabase(config);
  try {
    await migrate(db);
    return await fn(db);
  } finally {
    await db.close();
    await release();
  }
}

async function runMigrate(config: Config): Promise<number> {
  const { db, release } = await openDatabase(config);
  try {
    const { applied, version } = await migrate(db);
    console.log(
      applied.length === 0
        ? `schema up to date (version ${version})`
        : `applied ${applied.join(', ')}; now at version ${version}`,
    );
    return 0;
  } finally {
    await db.close();
    await release();
  }
}

async function runShorten(config: Config, args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { alias: { type: 'string' }, 'expires-at': { type: 'string' } },
  });
  const url = positionals[0];
  if (url === undefined || positionals.length > 1) {
    console.error('Usage: linkforge shorten <url> [--alias A] [--expires-at ISO]');
    return 2;
  }
  // The service is built without HTTP so the link goes through the same rules as the API.
  const { buildApp } = await import('./app.js');
  const built = await buildApp({ ...config, bootstrapApiKey: undefined });
  try {
    const ws = await defaultWorkspaceId(built.runtime.db);
    const link = await built.links.create(ws, {
      url,
      alias: values.alias,
      expiresAt: values['expires-at'],
    });
    console.log(`${config.publicBaseUrl}/${link.code}`);
    return 0;
  } finally {
    await built.app.close();
  }
}

async function runKeys(config: Config, args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub !== 'create') {
    console.error('Usage: linkforge keys create [--name N] [--role admin|member]');
    return 2;
  }
  const { values } = parseArgs({
    args: rest,
    options: { name: { type: 'string' }, role: { type: 'string' } },
  });
  const role = (values.role ?? 'admin') as Role;
  if (role !== 'admin' && role !== 'member') {
    console.error('--role must be admin or member');
    return 2;
  }
  return withDatabase(config, async (db) => {
    const keys = await ApiKeyService.create(db);
    const { key, record } = await keys.create(
      await defaultWorkspaceId(db),
      values.name ?? 'cli',
      role,
    );
    console.error(
      `Created ${record.role} key "${record.name}" (id ${record.id}). It is shown only once:`,
    );
    console.log(key);
    return 0;
  });
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof ConfigError || isAppError(err)) console.error(err.message);
    else console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
    process.exitCode = 1;
  },
);
