import type { SortProgress } from './options.js';

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

export function formatBytes(n: number): string {
  let v = n;
  let u = 0;
  while (v >= 1024 && u < UNITS.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v.toFixed(u === 0 ? 0 : 1)} ${UNITS[u]}`;
}

function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

/**
 * One-line terminal progress bar: phase, bytes, rate and ETA, redrawn in place.
 * Rates are per phase, so the ETA of the merge is not skewed by run generation.
 */
export class ProgressBar {
  private readonly out: NodeJS.WriteStream;
  private phaseKey = '';
  private phaseStart = 0;
  private drawn = false;

  constructor(out: NodeJS.WriteStream) {
    this.out = out;
  }

  update(p: SortProgress): void {
    const key = `${p.phase}:${p.pass}`;
    if (key !== this.phaseKey) {
      this.phaseKey = key;
      this.phaseStart = p.elapsedMs;
    }
    const label = p.phase === 'sort' ? 'sorting runs' : `merging ${p.pass}/${p.passes}`;
    const secs = Math.max(0.001, (p.elapsedMs - this.phaseStart) / 1000);
    const rate = p.bytesDone / secs;
    const width = 24;
    let bar: string;
    let tail: string;
    if (p.bytesTotal !== null && p.bytesTotal > 0) {
      const f = Math.min(1, p.bytesDone / p.bytesTotal);
      const fill = Math.round(f * width);
      bar = `[${'#'.repeat(fill)}${'.'.repeat(width - fill)}] ${String(Math.floor(f * 100)).padStart(3)}%`;
      const eta = rate > 0 ? ((p.bytesTotal - p.bytesDone) / rate) * 1000 : 0;
      tail = `${formatBytes(p.bytesDone)}/${formatBytes(p.bytesTotal)}  ${formatBytes(rate)}/s  ETA ${formatDuration(eta)}`;
    } else {
      bar = '';
      tail = `${formatBytes(p.bytesDone)}  ${formatBytes(rate)}/s`;
    }
    const line = `${label.padEnd(13)} ${bar} ${tail}`;
    const cols = this.out.columns ?? 100;
    this.out.write(`\r${line.slice(0, cols - 1).padEnd(Math.min(cols - 1, 90))}`);
    this.drawn = true;
  }

  clear(): void {
    if (!this.drawn) return;
    const cols = this.out.columns ?? 100;
    this.out.write(`\r${' '.repeat(Math.min(cols - 1, 90))}\r`);
    this.drawn = false;
  }
}
