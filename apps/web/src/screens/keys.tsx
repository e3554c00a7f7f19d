import { useEffect, useState } from 'preact/hooks';
import { api, ApiError } from '../api.js';
import { fmtDateTime } from '../format.js';
import type { ApiKey, Session } from '../types.js';
import {
  announce,
  ConfirmButton,
  CopyButton,
  Field,
  fieldAria,
  Notice,
  StatusBadge,
} from '../ui.js';

export function KeysScreen(props: { session: Session }) {
  const [keys, setKeys] = useState<ApiKey[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [secret, setSecret] = useState<{ key: string; name: string } | null>(null);

  const load = () =>
    api<{ items: ApiKey[] }>('GET', '/api/v1/keys')
      .then((r) => {
        setKeys(r.items);
        setError(null);
      })
      .catch((err: unknown) =>
        setError(
          err instanceof ApiError && err.status === 403
            ? 'Only an admin key can manage API keys. You are signed in with a member key.'
            : err instanceof Error
              ? err.message
              : 'The keys could not be loaded.',
        ),
      );
  useEffect(() => void load(), []);

  return (
    <>
      <div class="page-head">
        <h1>API keys</h1>
        <p class="muted">Keys let programs and the dashboard act for this workspace.</p>
      </div>
      {error !== null ? (
        <Notice kind="error">{error}</Notice>
      ) : (
        <>
          <CreateKey
            onCreated={(key, record) => {
              setSecret({ key, name: record.name });
              setKeys((k) => [...(k ?? []), record]);
            }}
          />
          {secret !== null && (
            <section class="card secret" aria-labelledby="secret-title" role="alert">
              <h2 id="secret-title">Copy the key “{secret.name}” now</h2>
              <p>It is shown only this once; Linkforge keeps only a hash of it.</p>
              <div class="secret-row">
                <code class="secret-value" data-testid="new-key">
                  {secret.key}
                </code>
                <CopyButton text={secret.key} label="Copy key" />
              </div>
              <button type="button" class="btn btn-small" onClick={() => setSecret(null)}>
                I have stored it
              </button>
            </section>
          )}
          <section class="card" aria-labelledby="keys-title">
            <h2 id="keys-title">Keys</h2>
            {keys === null ? (
              <p class="muted">Loading…</p>
            ) : (
              <div class="table-wrap">
                <table class="keys-table">
                  <thead>
                    <tr>
                      <th scope="col">Name</th>
                      <th scope="col">Key</th>
                      <th scope="col">Role</th>
                      <th scope="col">Created</th>
                      <th scope="col">Last used</th>
                      <th scope="col">Status</th>
                      <th scope="col">
                        <span class="visually-hidden">Actions</span>
                      </th>
                    </tr>
                  </thead>
                  <tbody>
                    {[...keys].reverse().map((k) => (
                      <tr key={k.id} data-key-id={k.id}>
                        <td data-label="Name">
                          {k.name}
                          {k.id === props.session.keyId && (
                            <span class="muted"> (this session)</span>
                          )}
                        </td>
                        <td data-label="Key">
                          <code>{k.prefix}…</code>
                        </td>
                        <td data-label="Role">{k.role}</td>
                        <td data-label="Created">{fmtDateTime(k.createdAt)}</td>
                        <td data-label="Last used">
                          {k.lastUsedAt === null ? 'Never' : fmtDateTime(k.lastUsedAt)}
                        </td>
                        <td data-label="Status">
                          <StatusBadge status={k.revokedAt === null ? 'active' : 'revoked'} />
                        </td>
                        <td class="actions">
                          {k.revokedAt === null && (
                            <ConfirmButton
                              label="Revoke"
                              ariaLabel={`Revoke key ${k.name}`}
                              title={`Revoke “${k.name}”?`}
                              message={
                                <p>
                                  Programs using <code>{k.prefix}…</code> will be refused at once.
                                  {k.id === props.session.keyId &&
                                    ' You are signed in with this key: you will be signed out.'}
                                </p>
                              }
                              confirmLabel="Revoke key"
                              onConfirm={async () => {
                                try {
                                  await api('DELETE', `/api/v1/keys/${k.id}`);
                                  announce(`Revoked “${k.name}”.`);
                                  await load();
                                } catch (err) {
                                  announce(
                                    err instanceof Error ? err.message : 'Revoke failed.',
                                    'error',
                                  );
                                }
                              }}
                            />
                          )}
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            )}
          </section>
        </>
      )}
    </>
  );
}

function CreateKey(props: { onCreated: (key: string, record: ApiKey) => void }) {
  const [name, setName] = useState('');
  const [role, setRole] = useState<'member' | 'admin'>('member');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const nameError = name.trim().length > 100 ? 'At most 100 characters.' : null;

  return (
    <section class="card" aria-labelledby="newkey-title">
      <h2 id="newkey-title">Create a key</h2>
      <form
        class="inline-form"
        noValidate
        onSubmit={async (e) => {
          e.preventDefault();
          if (name.trim() === '') {
            setError('Give the key a name, e.g. the program that will use it.');
            return;
          }
          if (nameError !== null) return;
          setBusy(true);
          setError(null);
          try {
            const r = await api<{ key: string; record: ApiKey }>('POST', '/api/v1/keys', {
              name: name.trim(),
              role,
            });
            props.onCreated(r.key, r.record);
            setName('');
          } catch (err) {
            setError(err instanceof Error ? err.message : 'The key could not be created.');
          } finally {
            setBusy(false);
          }
        }}
      >
        <Field id="key-name" label="Name" error={error ?? nameError}>
          <input
            {...fieldAria('key-name', error ?? nameError)}
            type="text"
            value={name}
            placeholder="newsletter-bot"
            onInput={(e) => {
              setName(e.currentTarget.value);
              setError(null);
            }}
          />
        </Field>
        <Field id="key-role" label="Role" error={null}>
          <select
            id="key-role"
            value={role}
            onChange={(e) => setRole(e.currentTarget.value as 'member' | 'admin')}
          >
            <option value="member">Member — manage links</option>
            <option value="admin">Admin — also manage keys</option>
          </select>
        </Field>
        <button type="submit" class="btn btn-primary" disabled={busy}>
          {busy ? 'Creating…' : 'Create key'}
        </button>
      </form>
    </section>
  );
}
