import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';

// ---- announcements: a visible toast plus a polite live region for screen readers ----------

type Toast = { id: number; text: string; kind: 'ok' | 'error' };
let nextToast = 1;
const listeners = new Set<(t: Toast[]) => void>();
let toasts: Toast[] = [];

export function announce(text: string, kind: 'ok' | 'error' = 'ok'): void {
  const toast = { id: nextToast++, text, kind };
  toasts = [...toasts.slice(-2), toast];
  listeners.forEach((l) => l(toasts));
  setTimeout(() => {
    toasts = toasts.filter((t) => t.id !== toast.id);
    listeners.forEach((l) => l(toasts));
  }, 4000);
}

export function Toaster() {
  const [items, setItems] = useState<Toast[]>(toasts);
  useEffect(() => {
    listeners.add(setItems);
    return () => listeners.delete(setItems);
  }, []);
  return (
    <div class="toaster" role="status" aria-live="polite">
      {items.map((t) => (
        <p key={t.id} class={`toast toast-${t.kind}`}>
          {t.text}
        </p>
      ))}
    </div>
  );
}

// ---- form fields ----------------------------------------------------------------------

export function Field(props: {
  id: string;
  label: string;
  hint?: string;
  error?: string | null;
  children: ComponentChildren;
  class?: string;
}) {
  return (
    <div class={`field ${props.class ?? ''} ${props.error ? 'has-error' : ''}`}>
      <label for={props.id}>{props.label}</label>
      {props.children}
      {props.hint !== undefined && (
        <p class="hint" id={`${props.id}-hint`}>
          {props.hint}
        </p>
      )}
      <p class="field-error" id={`${props.id}-error`}>
        {props.error ?? ''}
      </p>
    </div>
  );
}

/** ARIA wiring of an input that sits in a {@link Field}. */
export function fieldAria(id: string, error: string | null | undefined, hint = false) {
  return {
    id,
    'aria-invalid': error ? ('true' as const) : undefined,
    'aria-describedby': [hint ? `${id}-hint` : '', `${id}-error`].filter(Boolean).join(' '),
  };
}

// ---- copy to clipboard -------------------------------------------------------------------

export async function copyText(text: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    // Clipboard API needs a secure context; fall back to a selected textarea.
    const area = document.createElement('textarea');
    area.value = text;
    area.setAttribute('readonly', '');
    area.style.position = 'fixed';
    area.style.opacity = '0';
    document.body.append(area);
    area.select();
    const ok = document.execCommand('copy');
    area.remove();
    return ok;
  }
}

export function CopyButton(props: { text: string; label?: string; class?: string }) {
  const [copied, setCopied] = useState(false);
  return (
    <button
      type="button"
      class={`btn btn-small ${props.class ?? ''}`}
      aria-label={`${props.label ?? 'Copy'} ${props.text}`}
      onClick={async () => {
        const ok = await copyText(props.text);
        setCopied(ok);
        announce(
          ok ? 'Copied to the clipboard.' : 'Copy failed: select the text and copy it.',
          ok ? 'ok' : 'error',
        );
        setTimeout(() => setCopied(false), 1500);
      }}
    >
      {copied ? 'Copied' : (props.label ?? 'Copy')}
    </button>
  );
}

// ---- confirmation dialog (native <dialog>: focus trap and Escape for free) -------------

export function ConfirmButton(props: {
  label: string;
  title: string;
  message: ComponentChildren;
  confirmLabel: string;
  onConfirm: () => Promise<void> | void;
  class?: string;
  ariaLabel?: string;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  const [busy, setBusy] = useState(false);
  return (
    <>
      <button
        type="button"
        class={props.class ?? 'btn btn-small btn-danger'}
        aria-label={props.ariaLabel}
        onClick={() => ref.current?.showModal()}
      >
        {props.label}
      </button>
      <dialog ref={ref} class="dialog" aria-labelledby={`${props.title}-t`.replace(/\W/g, '-')}>
        <h2 id={`${props.title}-t`.replace(/\W/g, '-')}>{props.title}</h2>
        <div>{props.message}</div>
        <div class="dialog-actions">
          <button type="button" class="btn" onClick={() => ref.current?.close()}>
            Cancel
          </button>
          <button
            type="button"
            class="btn btn-danger"
            disabled={busy}
            onClick={async () => {
              setBusy(true);
              try {
                await props.onConfirm();
              } finally {
                setBusy(false);
                ref.current?.close();
              }
            }}
          >
            {props.confirmLabel}
          </button>
        </div>
      </dialog>
    </>
  );
}

export function StatusBadge(props: { status: string }) {
  return <span class={`badge badge-${props.status}`}>{props.status}</span>;
}

export function Notice(props: { kind?: 'info' | 'error'; children: ComponentChildren }) {
  return (
    <div
      class={`notice notice-${props.kind ?? 'info'}`}
      role={props.kind === 'error' ? 'alert' : undefined}
    >
      {props.children}
    </div>
  );
}
