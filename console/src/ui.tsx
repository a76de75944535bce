/** Small shared pieces: hash routing, the confirm dialog, error and status messages, the progress bar. */
import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError } from './api';

export interface Route {
  parts: string[];
  query: URLSearchParams;
}

const parse = (): Route => {
  const [p, q] = location.hash.replace(/^#/, '').split('?');
  return { parts: (p || '/images').split('/').filter(Boolean).map(decodeURIComponent), query: new URLSearchParams(q ?? '') };
};

/** The current route from the URL's hash (the console is static files: no server-side routes). */
export function useRoute(): Route {
  const [route, setRoute] = useState(parse);
  useEffect(() => {
    const on = () => setRoute(parse());
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return route;
}

export const go = (hash: string): void => {
  location.hash = hash;
};

/** The page's heading; takes focus when the page changes, so screen readers and keyboards start there. */
export function PageTitle({ children }: { children: ComponentChildren }) {
  const ref = useRef<HTMLHeadingElement>(null);
  useEffect(() => ref.current?.focus(), []);
  return (
    <h1 tabIndex={-1} ref={ref}>
      {children}
    </h1>
  );
}

export function ErrorMessage({ error }: { error: unknown }) {
  if (!error) return null;
  const e = error as Error;
  return (
    <div class="message error" role="alert">
      {e instanceof ApiError ? (
        <>
          <strong>{e.code}</strong>: {e.message}
        </>
      ) : (
        String(e.message ?? e)
      )}
    </div>
  );
}

export function Notice({ children }: { children: ComponentChildren }) {
  return (
    <div class="message ok" role="status">
      {children}
    </div>
  );
}

/** A modal confirmation (the native dialog: focus stays inside, Escape cancels). */
export function Confirm(props: {
  open: boolean;
  title: string;
  children: ComponentChildren;
  confirmLabel: string;
  cancelLabel?: string;
  danger?: boolean;
  onConfirm: () => void;
  onCancel: () => void;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const d = ref.current;
    if (!d) return;
    if (props.open && !d.open) d.showModal();
    if (!props.open && d.open) d.close();
  }, [props.open]);
  return (
    <dialog
      ref={ref}
      aria-labelledby="confirm-title"
      onCancel={(e) => {
        e.preventDefault();
        props.onCancel();
      }}
    >
      <h2 id="confirm-title">{props.title}</h2>
      <div>{props.children}</div>
      <div class="actions">
        <button type="button" onClick={props.onCancel}>
          {props.cancelLabel ?? 'Cancel'}
        </button>
        <button type="button" class={props.danger ? 'danger' : 'primary'} onClick={props.onConfirm}>
          {props.confirmLabel}
        </button>
      </div>
    </dialog>
  );
}

/** One action guarded by a confirmation, showing the API's answer when it refuses. */
export function useAction() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const run = async <T,>(fn: () => Promise<T>): Promise<T | undefined> => {
    setBusy(true);
    setError(null);
    try {
      return await fn();
    } catch (err) {
      setError(err);
      return undefined;
    } finally {
      setBusy(false);
    }
  };
  return { busy, error, setError, run };
}

/** A determinate bar for a percentage; without `value`, an indeterminate one (work of unknown length). */
export function ProgressBar({ value, label }: { value?: number; label: string }) {
  if (value === undefined) {
    return (
      <div class="progress indeterminate" role="progressbar" aria-label={label}>
        <div class="progress-fill" />
      </div>
    );
  }
  const v = Math.max(0, Math.min(100, Math.round(value)));
  return (
    <div
      class="progress"
      role="progressbar"
      aria-label={label}
      aria-valuemin={0}
      aria-valuemax={100}
      aria-valuenow={v}
      aria-valuetext={`${v}%`}
    >
      <div class="progress-fill" style={{ width: `${v}%` }} />
    </div>
  );
}

export const stateClass = (state: string): string => `badge state-${state.toLowerCase()}`;
