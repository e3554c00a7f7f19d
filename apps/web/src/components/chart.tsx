import { useEffect, useRef, useState } from 'preact/hooks';
import { fmtCompact, fmtNumber } from '../format.js';

const H = 220;
const PAD = { top: 12, right: 24, bottom: 28, left: 44 };

/** Round axis maximum: 1, 2, 5 × 10^n at or above `max`. */
export function niceMax(max: number): number {
  if (max <= 4) return 4;
  const p = 10 ** Math.floor(Math.log10(max));
  for (const m of [1, 2, 5, 10]) if (m * p >= max) return m * p;
  return 10 * p;
}

function label(t: string, interval: 'hour' | 'day'): string {
  const d = new Date(t);
  return interval === 'hour'
    ? d.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' })
    : d.toLocaleDateString(undefined, { month: 'short', day: 'numeric' });
}

/**
 * Clicks over time as SVG bars: no chart library (they weigh more than this whole app). The
 * figure has a text summary for screen readers and the numbers in a table below it.
 */
export function ClicksChart(props: {
  series: { t: string; clicks: number }[];
  interval: 'hour' | 'day';
}) {
  const { series, interval } = props;
  // Drawn at the container's real width, so text is never stretched and bars stay crisp.
  const box = useRef<HTMLElement>(null);
  const [W, setW] = useState(720);
  useEffect(() => {
    const el = box.current;
    if (el === null || typeof ResizeObserver === 'undefined') return;
    const ro = new ResizeObserver(([entry]) => {
      if (entry !== undefined) setW(Math.max(240, Math.round(entry.contentRect.width)));
    });
    ro.observe(el);
    return () => ro.disconnect();
  }, []);
  const max = niceMax(Math.max(0, ...series.map((p) => p.clicks)));
  const innerW = W - PAD.left - PAD.right;
  const innerH = H - PAD.top - PAD.bottom;
  const step = series.length > 0 ? innerW / series.length : innerW;
  const barW = Math.max(1, Math.min(28, step * 0.7));
  const ticks = [0, max / 2, max];
  // Counted back from the newest bucket, so "now" always has its label.
  const labelEvery = Math.max(1, Math.ceil(series.length / Math.max(2, Math.floor(innerW / 72))));
  const total = series.reduce((s, p) => s + p.clicks, 0);
  const peak = series.reduce((a, p) => (p.clicks > (a?.clicks ?? -1) ? p : a), series[0]);
  const summary =
    series.length === 0
      ? 'No data in this range.'
      : `${fmtNumber(total)} ${total === 1 ? 'click' : 'clicks'} over ${series.length} ${interval}s` +
        (peak !== undefined && peak.clicks > 0
          ? `, peak ${fmtNumber(peak.clicks)} at ${label(peak.t, interval)}`
          : '') +
        '.';

  return (
    <figure class="chart" ref={box}>
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label={`Clicks over time: ${summary}`}>
        {ticks.map((v) => {
          const y = PAD.top + innerH - (v / max) * innerH;
          return (
            <g key={v}>
              <line x1={PAD.left} x2={W - PAD.right} y1={y} y2={y} class="grid" />
              <text x={PAD.left - 6} y={y + 4} text-anchor="end" class="axis">
                {fmtCompact(v)}
              </text>
            </g>
          );
        })}
        {series.map((p, i) => {
          const h = (p.clicks / max) * innerH;
          const x = PAD.left + i * step + (step - barW) / 2;
          return (
            <g key={p.t}>
              <rect
                x={x}
                y={PAD.top + innerH - h}
                width={barW}
                height={Math.max(h, p.clicks > 0 ? 1 : 0)}
                rx={2}
                class="bar"
              >
                <title>{`${label(p.t, interval)}: ${fmtNumber(p.clicks)} ${p.clicks === 1 ? 'click' : 'clicks'}`}</title>
              </rect>
              {(series.length - 1 - i) % labelEvery === 0 && (
                <text x={x + barW / 2} y={H - 8} text-anchor="middle" class="axis">
                  {label(p.t, interval)}
                </text>
              )}
            </g>
          );
        })}
      </svg>
      <figcaption class="visually-hidden">{summary}</figcaption>
      <details class="chart-data">
        <summary>Show the numbers</summary>
        <table>
          <thead>
            <tr>
              <th scope="col">{interval === 'hour' ? 'Hour' : 'Day'}</th>
              <th scope="col" class="num">
                Clicks
              </th>
            </tr>
          </thead>
          <tbody>
            {series.map((p) => (
              <tr key={p.t}>
                <td>{new Date(p.t).toLocaleString()}</td>
                <td class="num">{fmtNumber(p.clicks)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </details>
    </figure>
  );
}

/** A ranked list ("top referrers") with proportional bars. */
export function TopList(props: {
  title: string;
  items: { value: string; clicks: number }[];
  empty?: string;
}) {
  const total = props.items.reduce((s, i) => s + i.clicks, 0);
  const top = props.items.slice(0, 8);
  return (
    <section class="toplist" aria-label={props.title}>
      <h3>{props.title}</h3>
      {top.length === 0 ? (
        <p class="muted">{props.empty ?? 'Nothing yet.'}</p>
      ) : (
        <ol>
          {top.map((i) => {
            const pct = total === 0 ? 0 : (i.clicks / total) * 100;
            return (
              <li key={i.value}>
                <span
                  class="toplist-bar"
                  style={{ width: `${pct.toFixed(1)}%` }}
                  aria-hidden="true"
                />
                <span class="toplist-value" title={i.value}>
                  {i.value === '' ? '(direct)' : i.value}
                </span>
                <span class="toplist-count">
                  {fmtNumber(i.clicks)} <span class="muted">({pct.toFixed(0)}%)</span>
                </span>
              </li>
            );
          })}
        </ol>
      )}
    </section>
  );
}
