import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_DASHBOARD_DIR } from '../src/dashboard/static-assets.js';

const WEB_DIR = fileURLToPath(new URL('../../web/', import.meta.url));

/**
 * The browser suites need the built dashboard. The install build makes it; when it is missing
 * (a checkout that ran only `tsc -b`), build it here with the package's own script.
 */
export function ensureDashboardBuilt(): void {
  if (existsSync(join(DEFAULT_DASHBOARD_DIR, 'index.html'))) return;
  const res = spawnSync('npm', ['run', 'build'], { cwd: WEB_DIR, encoding: 'utf8' });
  if (res.status !== 0) {
    throw new Error(`building the dashboard failed:\n${res.stdout}\n${res.stderr}`);
  }
}
