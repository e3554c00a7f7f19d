// The seed's microservice chain, with fake services, one AbortSignal for the whole
// request, and the per-task timing from the report.
// Run: node packages/scheduler/examples/microservice-chain.mjs
import { Scheduler } from '@linkforge/scheduler';

const latency = (ms, value) => new Promise((resolve) => setTimeout(() => resolve(value), ms));
const token = 'demo-token';
const authService = { verify: async (t) => latency(30, { id: 42, token: t }) };
const profileService = { get: async (id) => latency(40, { id, interests: ['links', 'qr'] }) };
const mlService = {
  recommend: async (p) =>
    latency(
      60,
      p.interests.map((i) => `more ${i}`),
    ),
};
const analytics = { log: async (id, event) => latency(20, `${event} logged for ${id}`) };

const request = AbortSignal.timeout(1_000); // the whole chain must answer within a second
const report = await new Scheduler(
  {
    authenticate: { dependsOn: [], run: async () => authService.verify(token) },
    getUserProfile: {
      dependsOn: ['authenticate'],
      run: async (user) => profileService.get(user.id),
    },
    getRecommendations: {
      dependsOn: ['getUserProfile'],
      run: async (profile) => mlService.recommend(profile),
    },
    logAnalytics: {
      dependsOn: ['authenticate'],
      run: async (user) => analytics.log(user.id, 'page_view'),
    },
  },
  { maxConcurrentTasks: 3, signal: request },
).runSettled();

for (const t of report.tasks.values()) {
  const span = `${t.startedAtMs.toFixed(0).padStart(4)}–${t.finishedAtMs.toFixed(0).padStart(4)} ms`;
  console.log(`${t.name.padEnd(20)} ${t.status.padEnd(10)} ${span}  ${JSON.stringify(t.value)}`);
}
console.log(`status: ${report.status} in ${report.durationMs.toFixed(0)} ms`);
