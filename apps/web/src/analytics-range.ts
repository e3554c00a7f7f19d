/** Date ranges of the analytics screens, and the buckets of their series. */

export type Range = { from: string; to: string; interval: 'hour' | 'day'; preset: string };

export const PRESETS = [
  { id: '24h', label: '24 hours', ms: 86_400_000, interval: 'hour' as const },
  { id: '7d', label: '7 days', ms: 7 * 86_400_000, interval: 'day' as const },
  { id: '30d', label: '30 days', ms: 30 * 86_400_000, interval: 'day' as const },
  { id: '90d', label: '90 days', ms: 90 * 86_400_000, interval: 'day' as const },
];

export const day = (d: Date) => d.toISOString().slice(0, 10);

/** A preset range ending now: hourly buckets for a day, daily ones beyond. */
export function presetRange(id: string, now = Date.now()): Range {
  const p = PRESETS.find((x) => x.id === id) ?? PRESETS[1]!;
  const to = new Date(now);
  const from = new Date(now - p.ms);
  if (p.interval === 'hour') {
    from.setUTCMinutes(0, 0, 0);
    return { from: from.toISOString(), to: to.toISOString(), interval: 'hour', preset: p.id };
  }
  from.setUTCHours(0, 0, 0, 0);
  return { from: from.toISOString(), to: to.toISOString(), interval: 'day', preset: p.id };
}

/** A custom range of whole days (inclusive), from two `<input type=date>` values. */
export function customRange(fromDay: string, toDay: string): Range | string {
  if (fromDay === '' || toDay === '') return 'Choose both dates.';
  const from = new Date(`${fromDay}T00:00:00Z`);
  const to = new Date(`${toDay}T00:00:00Z`);
  if (Number.isNaN(from.getTime()) || Number.isNaN(to.getTime())) return 'Enter valid dates.';
  if (to < from) return '"To" must not be before "From".';
  to.setUTCDate(to.getUTCDate() + 1);
  const days = (to.getTime() - from.getTime()) / 86_400_000;
  if (days > 366) return 'At most one year at a time.';
  return {
    from: from.toISOString(),
    to: to.toISOString(),
    interval: days <= 2 ? 'hour' : 'day',
    preset: 'custom',
  };
}

/**
 * Every bucket of the range, zero where the API sent none, so gaps show as gaps. Buckets start
 * on UTC hours or days; points the API sends off that grid are kept as they are.
 */
export function densify(
  series: readonly { t: string; clicks: number }[],
  from: string,
  to: string,
  interval: 'hour' | 'day',
): { t: string; clicks: number }[] {
  const step = interval === 'hour' ? 3_600_000 : 86_400_000;
  const start = Math.floor(Date.parse(from) / step) * step;
  const end = Date.parse(to);
  const byTime = new Map(series.map((p) => [Date.parse(p.t), p.clicks]));
  if (Number.isNaN(start) || Number.isNaN(end) || (end - start) / step > 2000) return [...series];
  for (let t = start; t < end; t += step) if (!byTime.has(t)) byTime.set(t, 0);
  return [...byTime.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([t, clicks]) => ({ t: new Date(t).toISOString(), clicks }));
}
