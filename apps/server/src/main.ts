import { buildApp } from './app.js';
import type { Config } from './config.js';

/**
 * Listens and handles signals; everything else is built by buildApp. SIGTERM/SIGINT stop
 * accepting connections, finish in-flight requests, flush buffered clicks, then exit.
 */
export async function serve(config: Config): Promise<void> {
  const { app, runtime } = await buildApp(config);
  let closing = false;
  const shutdown = (signal: string) => {
    if (closing) return;
    closing = true;
    app.log.info({ signal }, 'shutting down');
    const force = setTimeout(() => {
      app.log.error('shutdown took longer than 10 s; exiting');
      process.exit(1);
    }, 10_000);
    force.unref();
    app.close().then(
      () => {
        app.log.info('stopped');
        process.exit(0);
      },
      (err: unknown) => {
        app.log.error({ err }, 'error while shutting down');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  const address = await app.listen({ port: config.port, host: config.host });
  app.log.info(
    { address, mode: runtime.mode, publicBaseUrl: config.publicBaseUrl },
    `Linkforge listening at ${address}`,
  );
}
