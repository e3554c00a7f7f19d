import { useState } from 'preact/hooks';
import { api, ApiError } from '../api.js';
import type { Session } from '../types.js';
import { Field, fieldAria, Notice } from '../ui.js';

export function SignInScreen(props: { reason?: string; onSignedIn: (s: Session) => void }) {
  const [key, setKey] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: Event) => {
    e.preventDefault();
    if (key.trim() === '') {
      setError('Paste an API key to sign in.');
      return;
    }
    setBusy(true);
    setError(null);
    try {
      props.onSignedIn(
        await api<Session>('POST', '/api/v1/session', { key: key.trim() }, { quiet401: true }),
      );
    } catch (err) {
      setError(
        err instanceof ApiError && err.status === 401
          ? 'That key is unknown or revoked.'
          : err instanceof Error
            ? err.message
            : 'Sign-in failed.',
      );
    } finally {
      setBusy(false);
    }
  };

  return (
    <main class="signin">
      <form class="card signin-card" onSubmit={submit} noValidate>
        <h1>Sign in to Linkforge</h1>
        <p class="muted">
          Use an API key of your workspace. Create one with <code>linkforge keys create</code>.
        </p>
        {props.reason !== undefined && <Notice>{props.reason}</Notice>}
        <Field id="api-key" label="API key" error={error}>
          <input
            {...fieldAria('api-key', error)}
            type="password"
            name="key"
            autocomplete="current-password"
            spellcheck={false}
            value={key}
            onInput={(e) => setKey(e.currentTarget.value)}
            required
          />
        </Field>
        <button type="submit" class="btn btn-primary btn-block" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
        <p class="hint">
          The key is exchanged for a session cookie and not kept in the browser. The API is
          described at <a href="/docs">/docs</a>.
        </p>
      </form>
    </main>
  );
}
