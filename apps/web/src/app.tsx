import { useEffect, useRef, useState } from 'preact/hooks';
import { api, ApiError, setCsrfToken, setUnauthorizedHandler } from './api.js';
import { href, useRoute } from './router.js';
import { AnalyticsScreen } from './screens/analytics.js';
import { KeysScreen } from './screens/keys.js';
import { LinkDetailScreen } from './screens/link-detail.js';
import { LinksScreen } from './screens/links.js';
import { SignInScreen } from './screens/sign-in.js';
import type { Session } from './types.js';
import { announce, Toaster } from './ui.js';

type State =
  { kind: 'loading' } | { kind: 'signed-out'; reason?: string } | { kind: 'in'; session: Session };

export function App() {
  const [state, setState] = useState<State>({ kind: 'loading' });

  useEffect(() => {
    setUnauthorizedHandler(() => {
      setCsrfToken(null);
      setState({ kind: 'signed-out', reason: 'Your session has ended. Sign in again.' });
    });
    api<Session>('GET', '/api/v1/session', undefined, { quiet401: true })
      .then((session) => {
        setCsrfToken(session.csrfToken);
        setState({ kind: 'in', session });
      })
      .catch((err: unknown) => {
        setState({
          kind: 'signed-out',
          ...(err instanceof ApiError && err.status !== 401 ? { reason: err.message } : {}),
        });
      });
    return () => setUnauthorizedHandler(null);
  }, []);

  if (state.kind === 'loading') {
    return (
      <main class="center" aria-busy="true">
        <p>Loading…</p>
      </main>
    );
  }
  if (state.kind === 'signed-out') {
    return (
      <>
        <SignInScreen
          reason={state.reason}
          onSignedIn={(session) => {
            setCsrfToken(session.csrfToken);
            setState({ kind: 'in', session });
          }}
        />
        <Toaster />
      </>
    );
  }
  return (
    <Shell
      session={state.session}
      onSignedOut={() => {
        setCsrfToken(null);
        setState({ kind: 'signed-out' });
      }}
    />
  );
}

const NAV = [
  { id: 'links', label: 'Links' },
  { id: 'analytics', label: 'Analytics' },
  { id: 'keys', label: 'API keys' },
] as const;

function Shell(props: { session: Session; onSignedOut: () => void }) {
  const route = useRoute();
  const [section = 'links', param] = route;
  const main = useRef<HTMLElement>(null);

  // Move focus to the new screen's heading so keyboard and screen-reader users land there.
  useEffect(() => {
    const h1 = main.current?.querySelector('h1');
    if (h1 !== null && h1 !== undefined && document.activeElement !== document.body) {
      h1.setAttribute('tabindex', '-1');
      h1.focus();
    }
  }, [section, param]);

  let screen;
  if (section === 'links' && param !== undefined) screen = <LinkDetailScreen code={param} />;
  else if (section === 'analytics') screen = <AnalyticsScreen />;
  else if (section === 'keys') screen = <KeysScreen session={props.session} />;
  else screen = <LinksScreen shortBase={props.session.shortBase} />;

  const signOut = async () => {
    try {
      await api('DELETE', '/api/v1/session');
    } catch {
      // The session may already be gone; signing out locally is what matters.
    }
    announce('Signed out.');
    props.onSignedOut();
  };

  return (
    <>
      <a
        class="skip"
        href="#main"
        onClick={(e) => {
          e.preventDefault();
          main.current?.focus();
        }}
      >
        Skip to content
      </a>
      <header class="topbar">
        <a class="brand" href={href('links')}>
          <svg viewBox="0 0 32 32" width="28" height="28" aria-hidden="true">
            <rect width="32" height="32" rx="7" fill="currentColor" />
            <path
              d="M9 17a5 5 0 0 1 0-7l2-2a5 5 0 0 1 7 0M23 15a5 5 0 0 1 0 7l-2 2a5 5 0 0 1-7 0M13 19l6-6"
              stroke="#fff"
              stroke-width="2.5"
              fill="none"
              stroke-linecap="round"
            />
          </svg>
          <span>Linkforge</span>
        </a>
        <nav aria-label="Main">
          <ul>
            {NAV.map((n) => (
              <li key={n.id}>
                <a href={href(n.id)} aria-current={section === n.id ? 'page' : undefined}>
                  {n.label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <div class="who">
          <span
            class="who-name"
            title={`Signed in with the ${props.session.role} key "${props.session.keyName}"`}
          >
            {props.session.keyName} <span class="muted">· {props.session.role}</span>
          </span>
          <button type="button" class="btn btn-small" onClick={signOut}>
            Sign out
          </button>
        </div>
      </header>
      <main id="main" ref={main} tabIndex={-1} class="main">
        {screen}
      </main>
      <Toaster />
    </>
  );
}
