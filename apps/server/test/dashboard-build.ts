import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_DASHBOARD_DIR } from '../src/dashboard/static-assets.js';

const WEB_DIR = fileURLToPath(new URL('../../web/', import.meta.url));
const LOCK = join(WEB_DIR, '.build-lock');

function sleep(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * The browser suites need the built dashboard. The install build makes it; when it is missing
 * (a checkout that ran only `tsc -b`), build it here with the package's own script. Suites run
 * in parallel workers, so one builds under a lock directory and the others wait for it.
 */
export function ensureDashboardBuilt(): void {
  const built = () => existsSync(join(DEFAULT_DASHBOARD_DIR, 'index.html'));
  if (built()) return;
  const deadline = Date.now() + 180_000;
  for (;;) {
    try {
      mkdirSync(LOCK);
      break;
    } catch {
      // Another worker builds; a lock older than the deadline was left by a killed run.
      if (built()) return;
      if (Date.now() - statSync(LOCK, { throwIfNoEntry: false })!.mtimeMs > 180_000) {
        rmSync(LOCK, { recursive: true, force: true });
      } else if (Date.now() > deadline) {
        throw new Error('timed out waiting for another test worker to build the dashboard');
      }
      sleep(250);
    }
  }
  try {
    if (built()) return;
    const res = spawnSync('npm', ['run', 'build'], { cwd: WEB_DIR, encoding: 'utf8' });
    if (res.status !== 0) {
      throw new Error(`building the dashboard failed:\n${res.stdout}\n${res.stderr}`);
    }
  } finally {
    rmSync(LOCK, { recursive: true, force: true });
  }
}
