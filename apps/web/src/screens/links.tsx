import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { api, ApiError, query } from '../api.js';
import { Dropzone } from '../components/dropzone.js';
import {
  checkLinkForm,
  emptyLinkForm,
  formToBody,
  LinkFields,
  serverFieldError,
  type LinkFormValues,
} from '../components/link-form.js';
import { bareUrl, fmtDate, fmtNumber, hostOf, pathOf } from '../format.js';
import { href } from '../router.js';
import type { Link, LinkPage } from '../types.js';
import { announce, ConfirmButton, CopyButton, Field, Notice, StatusBadge } from '../ui.js';

export function LinksScreen(props: { shortBase: string }) {
  const [created, setCreated] = useState<Link[]>([]);
  return (
    <>
      <div class="page-head">
        <h1>Links</h1>
      </div>
      <CreateLink shortBase={props.shortBase} onCreated={(l) => setCreated((c) => [l, ...c])} />
      <LinkList fresh={created} />
    </>
  );
}

function CreateLink(props: { shortBase: string; onCreated: (l: Link) => void }) {
  const [tab, setTab] = useState<'url' | 'file'>('url');
  const [values, setValues] = useState<LinkFormValues>(emptyLinkForm);
  const [serverErrors, setServerErrors] = useState<Partial<Record<keyof LinkFormValues, string>>>(
    {},
  );
  const [formError, setFormError] = useState<string | null>(null);
  const [showAll, setShowAll] = useState(false);
  const [busy, setBusy] = useState(false);
  const [last, setLast] = useState<Link | null>(null);
  // A new key remounts the fields after a create, so their "touched" state starts afresh.
  const [formKey, setFormKey] = useState(0);
  const formRef = useRef<HTMLFormElement>(null);
  const errors = useMemo(() => checkLinkForm(values, true), [values]);

  const create = async (body: Record<string, unknown>) => {
    const link = await api<Link>('POST', '/api/v1/links', body);
    setLast(link);
    props.onCreated(link);
    announce(`Created ${bareUrl(link.shortUrl)}.`);
    return link;
  };

  const submit = async (e: Event) => {
    e.preventDefault();
    setShowAll(true);
    setFormError(null);
    const firstBad = (Object.keys(errors) as (keyof LinkFormValues)[]).find(
      (k) => errors[k] !== null,
    );
    if (firstBad !== undefined) {
      formRef.current?.querySelector<HTMLElement>(`#new-${firstBad}`)?.focus();
      return;
    }
    setBusy(true);
    try {
      await create(formToBody(values));
      setValues(emptyLinkForm());
      setFormKey((k) => k + 1);
      setShowAll(false);
      setServerErrors({});
    } catch (err) {
      if (err instanceof ApiError) {
        const fieldErr = serverFieldError(err.code, err.message);
        setServerErrors(fieldErr);
        if (Object.keys(fieldErr).length === 0) setFormError(err.message);
      } else setFormError('The link could not be created.');
    } finally {
      setBusy(false);
    }
  };

  return (
    <section class="card" aria-labelledby="create-title">
      <div class="card-head">
        <h2 id="create-title">Create a link</h2>
        <div
          class="tabs"
          role="tablist"
          aria-label="Kind of link"
          onKeyDown={(e) => {
            // Arrow keys move between tabs (WAI-ARIA tabs pattern); Tab leaves the tab list.
            if (e.key !== 'ArrowLeft' && e.key !== 'ArrowRight') return;
            e.preventDefault();
            const next = tab === 'url' ? 'file' : 'url';
            setTab(next);
            document.getElementById(`tab-${next}`)?.focus();
          }}
        >
          {(
            [
              ['url', 'Shorten a URL'],
              ['file', 'Share a file'],
            ] as const
          ).map(([id, label]) => (
            <button
              key={id}
              type="button"
              role="tab"
              id={`tab-${id}`}
              aria-selected={tab === id}
              aria-controls={`panel-${id}`}
              tabIndex={tab === id ? 0 : -1}
              onClick={() => setTab(id)}
            >
              {label}
            </button>
          ))}
        </div>
      </div>
      {tab === 'url' ? (
        <div id="panel-url" role="tabpanel" aria-labelledby="tab-url">
          <form ref={formRef} onSubmit={submit} noValidate aria-label="New link">
            <LinkFields
              key={formKey}
              prefix="new"
              values={values}
              onChange={(v) => {
                setValues(v);
                setServerErrors({});
              }}
              errors={errors}
              serverErrors={serverErrors}
              showAll={showAll}
              withAlias
              shortBase={bareUrl(props.shortBase)}
            />
            {formError !== null && <Notice kind="error">{formError}</Notice>}
            <div class="form-actions">
              <button type="submit" class="btn btn-primary" disabled={busy}>
                {busy ? 'Creating…' : 'Create link'}
              </button>
            </div>
          </form>
        </div>
      ) : (
        <div id="panel-file" role="tabpanel" aria-labelledby="tab-file">
          <Dropzone
            id="file-link-upload"
            kind="file"
            label="Drop a file here, or choose one"
            hint="Up to 100 MB. The short link will point to the uploaded file."
            onUploaded={async (upload, file) => {
              await create({ uploadId: upload.id, title: file.name });
            }}
          />
        </div>
      )}
      {last !== null && (
        <div class="created" aria-live="polite">
          <span>
            New link:{' '}
            <a href={last.shortUrl} target="_blank" rel="noopener">
              {bareUrl(last.shortUrl)}
            </a>
          </span>
          <CopyButton text={last.shortUrl} />
          <a class="btn btn-small" href={href('links', last.code)}>
            Details
          </a>
        </div>
      )}
    </section>
  );
}

function useDebounced<T>(value: T, ms: number): T {
  const [v, setV] = useState(value);
  useEffect(() => {
    const t = setTimeout(() => setV(value), ms);
    return () => clearTimeout(t);
  }, [value, ms]);
  return v;
}

const PAGE = 20;

function LinkList(props: { fresh: Link[] }) {
  const [q, setQ] = useState('');
  const [status, setStatus] = useState('');
  const [tag, setTag] = useState('');
  const [items, setItems] = useState<Link[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<string | null>(null);
  const [reload, setReload] = useState(0);
  const dq = useDebounced(q.trim(), 250);
  const dtag = useDebounced(tag.trim(), 250);

  const load = async (after: string | null, signal?: AbortSignal) => {
    setLoading(true);
    setError(null);
    try {
      const page = await api<LinkPage>(
        'GET',
        `/api/v1/links${query({ limit: PAGE, cursor: after, q: dq, tag: dtag, status })}`,
        undefined,
        { signal },
      );
      setItems((prev) => (after === null ? page.items : [...prev, ...page.items]));
      setCursor(page.nextCursor);
    } catch (err) {
      if (err instanceof DOMException && err.name === 'AbortError') return;
      setError(err instanceof Error ? err.message : 'The links could not be loaded.');
    } finally {
      setLoading(false);
    }
  };

  useEffect(() => {
    const ctl = new AbortController();
    void load(null, ctl.signal);
    return () => ctl.abort();
  }, [dq, dtag, status, reload]);

  // A link just created shows at the top at once, without refetching the list.
  useEffect(() => {
    const newest = props.fresh[0];
    if (newest !== undefined && dq === '' && dtag === '' && status === '') {
      setItems((prev) => (prev.some((l) => l.code === newest.code) ? prev : [newest, ...prev]));
    }
  }, [props.fresh]);

  const remove = async (link: Link) => {
    try {
      await api('DELETE', `/api/v1/links/${encodeURIComponent(link.code)}`);
      setItems((prev) => prev.filter((l) => l.code !== link.code));
      announce(`Deleted ${bareUrl(link.shortUrl)}.`);
    } catch (err) {
      announce(err instanceof Error ? err.message : 'Delete failed.', 'error');
    }
  };

  const filtered = dq !== '' || dtag !== '' || status !== '';
  return (
    <section class="card" aria-labelledby="list-title">
      <div class="card-head">
        <h2 id="list-title">Your links</h2>
        <button type="button" class="btn btn-small" onClick={() => setReload((n) => n + 1)}>
          Refresh
        </button>
      </div>
      <form class="filters" role="search" onSubmit={(e) => e.preventDefault()}>
        <Field id="link-search" label="Search">
          <input
            id="link-search"
            type="search"
            placeholder="Code, URL or title"
            value={q}
            onInput={(e) => setQ(e.currentTarget.value)}
          />
        </Field>
        <Field id="link-status" label="Status">
          <select
            id="link-status"
            value={status}
            onChange={(e) => setStatus(e.currentTarget.value)}
          >
            <option value="">All</option>
            <option value="active">Active</option>
            <option value="expired">Expired</option>
          </select>
        </Field>
        <Field id="link-tag" label="Tag">
          <input
            id="link-tag"
            type="text"
            placeholder="Any tag"
            value={tag}
            onInput={(e) => setTag(e.currentTarget.value)}
          />
        </Field>
      </form>
      {error !== null && <Notice kind="error">{error}</Notice>}
      {items.length === 0 && !loading && error === null ? (
        <p class="empty">
          {filtered
            ? 'No link matches these filters.'
            : 'No links yet: create your first one above.'}
        </p>
      ) : (
        <div class="table-wrap">
          <table class="links-table">
            <caption class="visually-hidden">Links, newest first</caption>
            <thead>
              <tr>
                <th scope="col">Short link</th>
                <th scope="col">Destination</th>
                <th scope="col" class="num">
                  Clicks
                </th>
                <th scope="col">Status</th>
                <th scope="col">Created</th>
                <th scope="col">
                  <span class="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {items.map((l) => (
                <tr key={l.code} data-code={l.code}>
                  <td data-label="Short link">
                    <a class="code" href={href('links', l.code)}>
                      {bareUrl(l.shortUrl)}
                    </a>
                    {l.title !== null && <span class="sub">{l.title}</span>}
                  </td>
                  <td data-label="Destination" class="dest">
                    <a href={l.url} target="_blank" rel="noopener noreferrer" title={l.url}>
                      {hostOf(l.url)}
                      <span class="muted">{pathOf(l.url)}</span>
                    </a>
                    {(l.tags.length > 0 || l.file != null) && (
                      <span class="tags">
                        {l.file != null && <span class="tag tag-file">file</span>}
                        {l.tags.map((t) => (
                          <span key={t} class="tag">
                            {t}
                          </span>
                        ))}
                      </span>
                    )}
                  </td>
                  <td data-label="Clicks" class="num clicks">
                    {fmtNumber(l.clicks)}
                    {l.maxClicks !== null && <span class="muted"> / {fmtNumber(l.maxClicks)}</span>}
                  </td>
                  <td data-label="Status">
                    <StatusBadge status={l.status} />
                  </td>
                  <td data-label="Created">{fmtDate(l.createdAt)}</td>
                  <td class="actions">
                    <CopyButton text={l.shortUrl} />
                    <ConfirmButton
                      label="Delete"
                      ariaLabel={`Delete ${bareUrl(l.shortUrl)}`}
                      title={`Delete ${l.code}?`}
                      message={
                        <p>
                          <strong>{bareUrl(l.shortUrl)}</strong> will stop redirecting and answer
                          “Link removed”. This cannot be undone.
                        </p>
                      }
                      confirmLabel="Delete link"
                      onConfirm={() => remove(l)}
                    />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <div class="list-foot" aria-live="polite">
        {loading && <span class="muted">Loading…</span>}
        {!loading && cursor !== null && (
          <button type="button" class="btn" onClick={() => void load(cursor)}>
            Load more
          </button>
        )}
      </div>
    </section>
  );
}
