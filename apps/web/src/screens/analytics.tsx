import { AnalyticsPanel } from '../components/analytics-panel.js';

export function AnalyticsScreen() {
  return (
    <>
      <div class="page-head">
        <h1>Analytics</h1>
        <p class="muted">All links of this workspace. Bots are not counted.</p>
      </div>
      <section class="card">
        <AnalyticsPanel />
      </section>
    </>
  );
}
