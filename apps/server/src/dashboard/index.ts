export { dashboardRoutes, type DashboardRoutesOptions } from './dashboard-routes.js';
export { sessionRoutes } from './session-routes.js';
export {
  sessionIdentifier,
  SESSION_COOKIE,
  SECURE_SESSION_COOKIE,
  CSRF_HEADER,
} from './session-auth.js';
export { SessionStore, csrfTokenFor, type SessionInfo } from './session-store.js';
export { DEFAULT_DASHBOARD_DIR } from './static-assets.js';
