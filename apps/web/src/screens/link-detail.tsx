import { useEffect, useMemo, useState } from 'preact/hooks';
import { api, ApiError } from '../api.js';
import { AnalyticsPanel } from '../components/analytics-panel.js';
import { Dropzone } from '../components/dropzone.js';
import {
  checkLinkForm,
  formToBody,
  LinkFields,
  linkToForm,
  serverFieldError,
  type LinkFormValues,
} from '../components/link-form.js';
import { bareUrl, fmtBytes, fmtDateTime, fmtNumber, hostOf } from '../format.js';
import { href, navigate } from '../router.js';
import type { Link } from '../types.js';
import { announce, ConfirmButton, CopyButton, Notice, StatusBadge } from '../ui.js';

export function LinkDetailScreen(props: { code: string }) {
  const [link, setLink] = useState<Link | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    setLink(null);
    setError(null);
    const ctl = new AbortController();
    api<Link>('GET', `/api/v1/links/${encodeURIComponent(props.code)}`, undefined, {
      signal: ctl.signal,
    })
      .then(setLink)
      .catch((err: unknown) => {
        if (err instanceof DOMException && err.name === 'AbortError') return;
        setError(
          err instanceof ApiError && err.status === 404
            ? `There is no link "${props.code}" in this workspace.`
            : String((err as Error).message),
        );
      });
    return () => ctl.abort();
  }, [props.code]);

  if (error !== null) {
    return (
      <>
        <div class="page-head">
          <h1>Link</h1>
        </div>
        <Notice kind="error">{error}</Notice>
        <p>
          <a href={href('links')}>Back to links</a>
        </p>
      </>
    );
  }
  if (link === null) {
    return (
      <div class="page-head">
        <h1>Link</h1>
        <p class="muted" aria-busy="true">
          Loading…
        </p>
      </div>
    );
  }

  return (
    <>
      <div class="page-head">
        <p class="crumbs">
          <a href={href('links')}>Links</a> /
        </p>
        <h1 class="code-title">{bareUrl(link.shortUrl)}</h1>
        <div class="head-actions">
          <StatusBadge status={link.status} />
          <CopyButton text={link.shortUrl} label="Copy short URL" />
          <a class="btn btn-small" href={link.shortUrl} target="_blank" rel="noopener">
            Open
          </a>
          <ConfirmButton
            label="Delete"
            title={`Delete ${link.code}?`}
            message={<p>{bareUrl(link.shortUrl)} will stop redirecting. This cannot be undone.</p>}
            confirmLabel="Delete link"
            onConfirm={async () => {
              try {
                await api('DELETE', `/api/v1/links/${encodeURIComponent(link.code)}`);
                announce(`Deleted ${bareUrl(link.shortUrl)}.`);
                navigate('links');
              } catch (err) {
                announce(err instanceof Error ? err.message : 'Delete failed.', 'error');
              }
            }}
          />
        </div>
      </div>
      <div class="detail-grid">
        <PreviewCard link={link} onChange={setLink} />
        <QrCard link={link} />
      </div>
      <section class="card" aria-labelledby="analytics-title">
        <div class="card-head">
          <h2 id="analytics-title">Analytics</h2>
          <span class="muted">
            <span class="link-clicks">{fmtNumber(link.clicks)}</span>{' '}
            {link.clicks === 1 ? 'click' : 'clicks'} in total
          </span>
        </div>
        <AnalyticsPanel code={link.code} fallbackClicks={link.clicks} />
      </section>
      <EditLink link={link} onSaved={setLink} />
    </>
  );
}

function PreviewCard(props: { link: Link; onChange: (l: Link) => void }) {
  const { link } = props;
  const [imageBroken, setImageBroken] = useState(false);
  // The owner's overrides win over what was fetched from the target page.
  const image = link.image ?? link.preview?.image ?? null;
  const title = link.title ?? link.preview?.title ?? hostOf(link.url);
  const description = link.description ?? link.preview?.description ?? null;
  const site = link.preview?.siteName ?? hostOf(link.url);
  useEffect(() => setImageBroken(false), [image]);
  return (
    <section class="card" aria-labelledby="preview-title">
      <h2 id="preview-title">Preview</h2>
      <p class="muted small">How the link looks when shared.</p>
      <article class="preview">
        {image !== null && !imageBroken ? (
          <img class="preview-image" src={image} alt="" onError={() => setImageBroken(true)} />
        ) : (
          <div class="preview-image preview-placeholder" aria-hidden="true">
            {site.slice(0, 1).toUpperCase()}
          </div>
        )}
        <div class="preview-body">
          <span class="preview-host">{site}</span>
          <strong class="preview-title">{title}</strong>
          {description !== null && <span class="preview-desc">{description}</span>}
        </div>
      </article>
      <dl class="facts">
        <dt>Destination</dt>
        <dd>
          <a href={link.url} target="_blank" rel="noopener noreferrer" class="break">
            {link.url}
          </a>
        </dd>
        {link.file != null && (
          <>
            <dt>File</dt>
            <dd>
              {link.file.fileName}{' '}
              <span class="muted">
                ({fmtBytes(link.file.size)}, {link.file.contentType})
              </span>
            </dd>
          </>
        )}
        <dt>Redirect</dt>
        <dd>{link.redirectType}</dd>
        <dt>Expires</dt>
        <dd>{link.expiresAt === null ? 'Never' : fmtDateTime(link.expiresAt)}</dd>
        <dt>Clicks</dt>
        <dd>
          {fmtNumber(link.clicks)}
          {link.maxClicks !== null && ` of ${fmtNumber(link.maxClicks)}`}
        </dd>
        <dt>Created</dt>
        <dd>{fmtDateTime(link.createdAt)}</dd>
      </dl>
      <Dropzone
        id="preview-upload"
        kind="image"
        label="Drop an image for the preview"
        hint="PNG, JPEG, GIF, WebP or AVIF, up to 5 MB."
        onUploaded={async (upload) => {
          const updated = await api<Link>(
            'PATCH',
            `/api/v1/links/${encodeURIComponent(link.code)}`,
            { imageUploadId: upload.id },
          );
          props.onChange(
            updated.image === undefined && typeof upload.url === 'string'
              ? { ...updated, image: upload.url }
              : updated,
          );
          announce('Preview image updated.');
        }}
      />
    </section>
  );
}

function QrCard(props: { link: Link }) {
  const base = `/api/v1/links/${encodeURIComponent(props.link.code)}/qr`;
  const [state, setState] = useState<'loading' | 'ok' | 'missing'>('loading');
  useEffect(() => setState('loading'), [base]);
  return (
    <section class="card qr-card" aria-labelledby="qr-title">
      <h2 id="qr-title">QR code</h2>
      {state === 'missing' ? (
        <Notice>QR codes are not available on this server yet.</Notice>
      ) : (
        <>
          <div class="qr-frame">
            <img
              src={`${base}?format=svg`}
              width={192}
              height={192}
              alt={`QR code for ${bareUrl(props.link.shortUrl)}`}
              onLoad={() => setState('ok')}
              onError={() => setState('missing')}
            />
          </div>
          <div class="qr-actions">
            <a
              class="btn btn-small"
              href={`${base}?format=svg`}
              download={`${props.link.code}.svg`}
            >
              Download SVG
            </a>
            <a
              class="btn btn-small"
              href={`${base}?format=png`}
              download={`${props.link.code}.png`}
            >
              Download PNG
            </a>
          </div>
        </>
      )}
    </section>
  );
}

function EditLink(props: { link: Link; onSaved: (l: Link) => void }) {
  const initial = useMemo(() => linkToForm(props.link), [props.link]);
  const [values, setValues] = useState<LinkFormValues>(initial);
  const [serverErrors, setServerErrors] = useState<Partial<Record<keyof LinkFormValues, string>>>(
    {},
  );
  const [formError, setFormError] = useState<string | null>(null);
  const [showAll, setShowAll] = useState(false);
  const [busy, setBusy] = useState(false);
  useEffect(() => setValues(initial), [initial]);
  const errors = useMemo(() => {
    const e = checkLinkForm(values, false);
    // An expiry already in the past may stay as it is; only a changed one must be in the future.
    if (values.expires === initial.expires) e.expires = null;
    return e;
  }, [values, initial]);
  const body = formToBody(values, initial);
  const dirty = Object.keys(body).length > 0;

  return (
    <section class="card" aria-labelledby="edit-heading">
      <h2 id="edit-heading">Edit link</h2>
      <form
        noValidate
        onSubmit={async (e) => {
          e.preventDefault();
          setShowAll(true);
          setFormError(null);
          if (Object.values(errors).some((x) => x !== null) || !dirty) return;
          setBusy(true);
          try {
            const saved = await api<Link>(
              'PATCH',
              `/api/v1/links/${encodeURIComponent(props.link.code)}`,
              body,
            );
            props.onSaved(saved);
            setShowAll(false);
            setServerErrors({});
            announce('Changes saved.');
          } catch (err) {
            if (err instanceof ApiError) {
              const f = serverFieldError(err.code, err.message);
              setServerErrors(f);
              if (Object.keys(f).length === 0) setFormError(err.message);
            } else setFormError('The changes could not be saved.');
          } finally {
            setBusy(false);
          }
        }}
      >
        <LinkFields
          prefix="edit"
          values={values}
          onChange={(v) => {
            setValues(v);
            setServerErrors({});
          }}
          errors={errors}
          serverErrors={serverErrors}
          showAll={showAll}
          withAlias={false}
          withDescription
        />
        {formError !== null && <Notice kind="error">{formError}</Notice>}
        <div class="form-actions">
          <button type="submit" class="btn btn-primary" disabled={busy || !dirty}>
            {busy ? 'Saving…' : 'Save changes'}
          </button>
          <button type="button" class="btn" disabled={!dirty} onClick={() => setValues(initial)}>
            Reset
          </button>
        </div>
      </form>
    </section>
  );
}
