import { useEffect, useState } from 'preact/hooks';
import { api, ApiError, query } from '../api.js';
import { fmtNumber } from '../format.js';
import type { Analytics } from '../types.js';
import { Field, Notice } from '../ui.js';
import { customRange, day, densify, PRESETS, presetRange, type Range } from '../analytics-range.js';
import { ClicksChart, TopList } from './chart.js';

function RangePicker(props: { range: Range; onChange: (r: Range) => void }) {
  const [from, setFrom] = useState(day(new Date(props.range.from)));
  const [to, setTo] = useState(day(new Date(Date.parse(props.range.to) - 1)));
  const [error, setError] = useState<string | null>(null);
  // A preset shows its own days in the custom fields, ready to adjust.
  useEffect(() => {
    if (props.range.preset === 'custom') return;
    setFrom(day(new Date(props.range.from)));
    setTo(day(new Date(Date.parse(props.range.to) - 1)));
  }, [props.range]);
  return (
    <div class="range">
      <div class="segmented" role="group" aria-label="Date range">
        {PRESETS.map((p) => (
          <button
            key={p.id}
            type="button"
            aria-pressed={props.range.preset === p.id}
            onClick={() => {
              setError(null);
              props.onChange(presetRange(p.id));
            }}
          >
            {p.label}
          </button>
        ))}
      </div>
      <form
        class="range-custom"
        onSubmit={(e) => {
          e.preventDefault();
          const r = customRange(from, to);
          if (typeof r === 'string') setError(r);
          else {
            setError(null);
            props.onChange(r);
          }
        }}
      >
        <Field id="range-from" label="From" error={null}>
          <input
            id="range-from"
            type="date"
            value={from}
            max={to}
            onInput={(e) => setFrom(e.currentTarget.value)}
          />
        </Field>
        <Field id="range-to" label="To" error={null}>
          <input
            id="range-to"
            type="date"
            value={to}
            min={from}
            onInput={(e) => setTo(e.currentTarget.value)}
          />
        </Field>
        <button type="submit" class="btn btn-small" aria-pressed={props.range.preset === 'custom'}>
          Apply
        </button>
        {error !== null && (
          <p class="field-error" role="alert">
            {error}
          </p>
        )}
      </form>
    </div>
  );
}

const REFRESH_MS = 5_000;

/**
 * Analytics of one link (`code`) or of the workspace: totals, clicks over time and the top
 * lists. It refreshes itself every few seconds while the tab is visible, so new clicks show
 * without a reload. A server without the analytics API gets a notice, not an error.
 */
export function AnalyticsPanel(props: { code?: string; fallbackClicks?: number }) {
  const [range, setRange] = useState<Range>(() => presetRange('7d'));
  const [data, setData] = useState<(Analytics & { range: Range }) | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [missing, setMissing] = useState(false);
  const [updatedAt, setUpdatedAt] = useState<Date | null>(null);

  useEffect(() => {
    let stopped = false;
    let ctl: AbortController | undefined;
    const fetchNow = async () => {
      ctl?.abort();
      ctl = new AbortController();
      // Preset ranges slide with time: "last 24 hours" means up to now at every refresh.
      const r = range.preset === 'custom' ? range : presetRange(range.preset);
      const base =
        props.code === undefined
          ? '/api/v1/analytics'
          : `/api/v1/links/${encodeURIComponent(props.code)}/analytics`;
      try {
        const d = await api<Analytics>(
          'GET',
          base + query({ from: r.from, to: r.to, interval: r.interval }),
          undefined,
          {
            signal: ctl.signal,
          },
        );
        if (stopped) return;
        setData({ ...d, range: r });
        setMissing(false);
        setError(null);
        setUpdatedAt(new Date());
      } catch (err) {
        if (stopped || (err instanceof DOMException && err.name === 'AbortError')) return;
        if (err instanceof ApiError && err.missingRoute) setMissing(true);
        else setError(err instanceof Error ? err.message : 'Analytics could not be loaded.');
      }
    };
    void fetchNow();
    const timer = setInterval(() => {
      if (document.visibilityState === 'visible') void fetchNow();
    }, REFRESH_MS);
    const onVisible = () => {
      if (document.visibilityState === 'visible') void fetchNow();
    };
    document.addEventListener('visibilitychange', onVisible);
    return () => {
      stopped = true;
      ctl?.abort();
      clearInterval(timer);
      document.removeEventListener('visibilitychange', onVisible);
    };
  }, [range, props.code]);

  return (
    <div class="analytics">
      <RangePicker range={range} onChange={setRange} />
      {missing ? (
        <Notice>
          Detailed analytics are not available on this server yet.
          {props.fallbackClicks !== undefined && (
            <>
              {' '}
              This link has{' '}
              <strong class="fallback-clicks">{fmtNumber(props.fallbackClicks)}</strong> clicks in
              total.
            </>
          )}
        </Notice>
      ) : error !== null ? (
        <Notice kind="error">{error}</Notice>
      ) : data === null ? (
        <p class="muted" aria-busy="true">
          Loading analytics…
        </p>
      ) : (
        <>
          <div class="stats">
            <div class="stat">
              <span class="stat-label">Clicks</span>
              <span class="stat-value" data-testid="total-clicks">
                {fmtNumber(data.totals.clicks)}
              </span>
            </div>
            <div class="stat">
              <span class="stat-label">Unique visitors</span>
              <span class="stat-value">{fmtNumber(data.totals.uniqueVisitors)}</span>
            </div>
            <p class="updated muted" aria-live="off">
              {updatedAt !== null && `Updated ${updatedAt.toLocaleTimeString()}`}
            </p>
          </div>
          <ClicksChart
            series={densify(data.series, data.range.from, data.range.to, data.range.interval)}
            interval={data.range.interval}
          />
          <div class="toplists">
            <TopList title="Top referrers" items={data.referrers} empty="No referrers yet." />
            <TopList title="Countries" items={data.countries} />
            <TopList title="Devices" items={data.devices} />
            <TopList title="Browsers" items={data.browsers} />
            <TopList title="Operating systems" items={data.os} />
          </div>
        </>
      )}
    </div>
  );
}
