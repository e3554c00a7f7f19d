import { useRef, useState } from 'preact/hooks';
import { fmtBytes } from '../format.js';
import type { Upload } from '../types.js';
import { checkFile, uploadFile } from '../upload.js';

type State =
  | { kind: 'idle' }
  | { kind: 'uploading'; name: string; size: number; fraction: number }
  | { kind: 'done'; name: string }
  | { kind: 'error'; message: string };

/**
 * Drag-and-drop (or click / Enter to pick) upload through the pre-signed flow, with a progress
 * bar and a clear message for a wrong type, a file too large, or a server without uploads.
 */
export function Dropzone(props: {
  id: string;
  kind: 'image' | 'file';
  label: string;
  hint: string;
  onUploaded: (upload: Upload, file: File) => Promise<void> | void;
}) {
  const [state, setState] = useState<State>({ kind: 'idle' });
  const [over, setOver] = useState(false);
  const input = useRef<HTMLInputElement>(null);

  const start = async (file: File | undefined) => {
    if (file === undefined) return;
    const problem = checkFile(file, props.kind);
    if (problem !== null) {
      setState({ kind: 'error', message: problem });
      return;
    }
    setState({ kind: 'uploading', name: file.name, size: file.size, fraction: 0 });
    try {
      const upload = await uploadFile(file, (fraction) =>
        setState({ kind: 'uploading', name: file.name, size: file.size, fraction }),
      );
      await props.onUploaded(upload, file);
      setState({ kind: 'done', name: file.name });
    } catch (err) {
      setState({
        kind: 'error',
        message: err instanceof Error ? err.message : 'The upload failed.',
      });
    } finally {
      if (input.current !== null) input.current.value = '';
    }
  };

  const busy = state.kind === 'uploading';
  return (
    <div class="dropzone-wrap">
      <label
        for={props.id}
        class={`dropzone ${over ? 'is-over' : ''} ${busy ? 'is-busy' : ''}`}
        onDragOver={(e) => {
          e.preventDefault();
          setOver(true);
        }}
        onDragLeave={() => setOver(false)}
        onDrop={(e) => {
          e.preventDefault();
          setOver(false);
          if (!busy) void start(e.dataTransfer?.files[0]);
        }}
      >
        <svg viewBox="0 0 24 24" width="28" height="28" aria-hidden="true">
          <path
            d="M12 16V4m0 0-4 4m4-4 4 4M4 16v3a1 1 0 0 0 1 1h14a1 1 0 0 0 1-1v-3"
            fill="none"
            stroke="currentColor"
            stroke-width="1.8"
            stroke-linecap="round"
            stroke-linejoin="round"
          />
        </svg>
        <span class="dropzone-label">{props.label}</span>
        <span class="hint" id={`${props.id}-hint`}>
          {props.hint}
        </span>
        <input
          ref={input}
          id={props.id}
          class="visually-hidden"
          type="file"
          accept={
            props.kind === 'image'
              ? 'image/png,image/jpeg,image/gif,image/webp,image/avif'
              : undefined
          }
          aria-describedby={`${props.id}-hint ${props.id}-status`}
          disabled={busy}
          onChange={(e) => void start(e.currentTarget.files?.[0])}
        />
      </label>
      <div id={`${props.id}-status`} aria-live="polite" class="dropzone-status">
        {state.kind === 'uploading' && (
          <>
            <span>
              Uploading {state.name} ({fmtBytes(state.size)}) — {Math.round(state.fraction * 100)}%
            </span>
            <progress max={1} value={state.fraction} aria-label={`Upload of ${state.name}`} />
          </>
        )}
        {state.kind === 'done' && <span class="ok">Uploaded {state.name}.</span>}
        {state.kind === 'error' && (
          <span class="error" role="alert">
            {state.message}
          </span>
        )}
      </div>
    </div>
  );
}
