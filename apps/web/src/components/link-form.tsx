import { useState } from 'preact/hooks';
import type { Link, RedirectType } from '../types.js';
import { Field, fieldAria } from '../ui.js';
import {
  checkAlias,
  checkExpiry,
  checkMaxClicks,
  checkTags,
  checkTitle,
  checkUrl,
  expiryToIso,
  isoToLocalInput,
  parseTags,
  type Check,
} from '../validate.js';

export interface LinkFormValues {
  url: string;
  alias: string;
  expires: string;
  maxClicks: string;
  redirectType: string;
  title: string;
  description: string;
  tags: string;
}

type FieldName = keyof LinkFormValues;

export const emptyLinkForm = (): LinkFormValues => ({
  url: '',
  alias: '',
  expires: '',
  maxClicks: '',
  redirectType: '302',
  title: '',
  description: '',
  tags: '',
});

export const linkToForm = (l: Link): LinkFormValues => ({
  url: l.url,
  alias: l.code,
  expires: isoToLocalInput(l.expiresAt),
  maxClicks: l.maxClicks === null ? '' : String(l.maxClicks),
  redirectType: String(l.redirectType),
  title: l.title ?? '',
  description: l.description ?? '',
  tags: l.tags.join(', '),
});

export function checkLinkForm(v: LinkFormValues, withAlias: boolean): Record<FieldName, Check> {
  return {
    url: checkUrl(v.url),
    alias: withAlias ? checkAlias(v.alias) : null,
    expires: checkExpiry(v.expires),
    maxClicks: checkMaxClicks(v.maxClicks),
    redirectType: null,
    title: checkTitle(v.title),
    description: v.description.trim().length > 1000 ? 'At most 1000 characters.' : null,
    tags: checkTags(v.tags),
  };
}

/** The API body of a form: create sends what is set, edit sends what changed. */
export function formToBody(v: LinkFormValues, before?: LinkFormValues): Record<string, unknown> {
  const body: Record<string, unknown> = {
    url: v.url.trim(),
    expiresAt: expiryToIso(v.expires),
    maxClicks: v.maxClicks.trim() === '' ? null : Number(v.maxClicks),
    redirectType: Number(v.redirectType) as RedirectType,
    title: v.title.trim() === '' ? null : v.title.trim(),
    description: v.description.trim() === '' ? null : v.description.trim(),
    tags: parseTags(v.tags),
  };
  if (before === undefined) {
    if (v.alias.trim() !== '') body['alias'] = v.alias.trim();
    for (const k of ['expiresAt', 'maxClicks', 'title', 'description'] as const)
      if (body[k] === null) delete body[k];
    return body;
  }
  const old = formToBody(before);
  for (const k of Object.keys(body)) {
    const same = JSON.stringify(body[k] ?? null) === JSON.stringify(old[k] ?? null);
    if (same) delete body[k];
  }
  return body;
}

const REDIRECTS: { value: string; label: string }[] = [
  { value: '302', label: '302 Found (temporary, default)' },
  { value: '301', label: '301 Moved permanently (cached by browsers)' },
  { value: '307', label: '307 Temporary redirect (keeps the method)' },
  { value: '308', label: '308 Permanent redirect (keeps the method)' },
];

/**
 * The fields of a link, validated as the person types: a field shows its message once it was
 * touched, and every field does after a submit attempt.
 */
export function LinkFields(props: {
  prefix: string;
  values: LinkFormValues;
  onChange: (v: LinkFormValues) => void;
  errors: Record<FieldName, Check>;
  serverErrors: Partial<Record<FieldName, string>>;
  showAll: boolean;
  withAlias: boolean;
  withDescription?: boolean;
  shortBase?: string;
}) {
  const [touched, setTouched] = useState<Set<FieldName>>(new Set());
  const id = (f: FieldName) => `${props.prefix}-${f}`;
  const err = (f: FieldName) =>
    props.serverErrors[f] ?? (props.showAll || touched.has(f) ? props.errors[f] : null);
  const bind = (f: FieldName) => ({
    value: props.values[f],
    onInput: (e: Event) => {
      const value = (e.currentTarget as HTMLInputElement).value;
      if (value !== '' && !touched.has(f)) setTouched(new Set(touched).add(f));
      props.onChange({ ...props.values, [f]: value });
    },
    onBlur: () => {
      if (!touched.has(f)) setTouched(new Set(touched).add(f));
    },
  });

  return (
    <div class="form-grid">
      <Field id={id('url')} label="Destination URL" error={err('url')} class="span-2">
        <input
          {...fieldAria(id('url'), err('url'))}
          {...bind('url')}
          type="url"
          inputMode="url"
          placeholder="https://example.com/a/long/page"
          autocomplete="off"
          spellcheck={false}
          required
        />
      </Field>
      {props.withAlias && (
        <Field
          id={id('alias')}
          label="Custom alias (optional)"
          hint={
            props.shortBase !== undefined
              ? `${props.shortBase}/your-alias`
              : '3–64 letters, digits, - and _'
          }
          error={err('alias')}
        >
          <input
            {...fieldAria(id('alias'), err('alias'), true)}
            {...bind('alias')}
            type="text"
            placeholder="spring-sale"
            autocomplete="off"
            spellcheck={false}
          />
        </Field>
      )}
      <Field id={id('title')} label="Title (optional)" error={err('title')}>
        <input
          {...fieldAria(id('title'), err('title'))}
          {...bind('title')}
          type="text"
          maxLength={300}
        />
      </Field>
      {props.withDescription === true && (
        <Field
          id={id('description')}
          label="Preview description (optional)"
          hint="Shown when the link is shared; empty uses the target page's own"
          error={err('description')}
          class="span-2"
        >
          <input
            {...fieldAria(id('description'), err('description'), true)}
            {...bind('description')}
            type="text"
            maxLength={1000}
          />
        </Field>
      )}
      <Field
        id={id('expires')}
        label="Expires (optional)"
        hint="Your local time"
        error={err('expires')}
      >
        <input
          {...fieldAria(id('expires'), err('expires'), true)}
          {...bind('expires')}
          type="datetime-local"
        />
      </Field>
      <Field id={id('maxClicks')} label="Max clicks (optional)" error={err('maxClicks')}>
        <input
          {...fieldAria(id('maxClicks'), err('maxClicks'))}
          {...bind('maxClicks')}
          type="number"
          inputMode="numeric"
          min={1}
          step={1}
          placeholder="Unlimited"
        />
      </Field>
      <Field id={id('redirectType')} label="Redirect type" error={null}>
        <select {...fieldAria(id('redirectType'), null)} {...bind('redirectType')}>
          {REDIRECTS.map((r) => (
            <option key={r.value} value={r.value}>
              {r.label}
            </option>
          ))}
        </select>
      </Field>
      <Field id={id('tags')} label="Tags (optional)" hint="Comma-separated" error={err('tags')}>
        <input
          {...fieldAria(id('tags'), err('tags'), true)}
          {...bind('tags')}
          type="text"
          placeholder="campaign, spring"
          autocomplete="off"
        />
      </Field>
    </div>
  );
}

/** Which field a server error belongs to, so it shows next to that field. */
export function serverFieldError(code: string, detail: string): Partial<Record<FieldName, string>> {
  if (code === 'alias_taken' || code === 'invalid_alias') return { alias: detail };
  if (code === 'invalid_url') return { url: detail };
  if (/expiresAt/.test(detail)) return { expires: detail };
  if (/maxClicks/.test(detail)) return { maxClicks: detail };
  if (/[Tt]ag/.test(detail)) return { tags: detail };
  if (/title/.test(detail)) return { title: detail };
  if (/description/.test(detail)) return { description: detail };
  return {};
}
