import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { api } from '../api.js';
import { errorText } from './async.js';

/**
 * A change to a device or a policy: a native modal dialog (focus kept inside, Escape cancels)
 * that says what will happen and will not go on without a reason, which the audit keeps.
 * `noReason`: for a change whose route keeps no note (revoking a credential: `RevokeDialog`), so the
 * dialog does not ask for words nobody will read.
 */
export function ConfirmDialog(props: {
  title: string;
  description: ComponentChildren;
  confirmLabel: string;
  danger?: boolean;
  noReason?: boolean;
  children?: ComponentChildren;
  onConfirm(reason: string): Promise<void>;
  onClose(): void;
}) {
  const dialog = useRef<HTMLDialogElement>(null);
  const [reason, setReason] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    dialog.current?.showModal();
  }, []);
  const submit = async (event: Event) => {
    event.preventDefault();
    if (!props.noReason && !reason.trim()) {
      setError('Say why: a reason is required, and it is kept in the audit log.');
      return;
    }
    setBusy(true);
    setError(null);
    try {
      await props.onConfirm(reason.trim());
      props.onClose();
    } catch (e) {
      setError(errorText(e));
      setBusy(false);
    }
  };
  return (
    <dialog ref={dialog} class="dialog" aria-labelledby="dialog-title" onClose={props.onClose}>
      <form method="dialog" onSubmit={submit}>
        <h2 id="dialog-title">{props.title}</h2>
        <div class="dialog-body">{props.description}</div>
        {props.children}
        {!props.noReason && (
          <>
            <label for="dialog-reason">Reason (required)</label>
            <textarea
              id="dialog-reason"
              name="reason"
              rows={3}
              aria-required="true"
              maxLength={500}
              value={reason}
              onInput={(e) => {
                setReason((e.target as HTMLTextAreaElement).value);
                setError(null);
              }}
            />
          </>
        )}
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        <div class="dialog-actions">
          <button type="button" onClick={props.onClose}>
            Cancel
          </button>
          <button type="submit" class={props.danger ? 'danger' : 'primary'} disabled={busy}>
            {busy ? 'Working…' : props.confirmLabel}
          </button>
        </div>
      </form>
    </dialog>
  );
}

/**
 * Revoking a credential (an enrollment token, a gateway key): its route keeps no note, so no
 * reason is asked; once confirmed, `path` is POSTed and the list it was chosen from reloaded.
 */
export function RevokeDialog(props: { title: string; description: string; confirmLabel: string; path: string; onRevoked(): void; onClose(): void }) {
  return (
    <ConfirmDialog
      danger
      noReason
      title={props.title}
      description={props.description}
      confirmLabel={props.confirmLabel}
      onConfirm={async () => {
        await api('POST', props.path);
        props.onRevoked();
      }}
      onClose={props.onClose}
    />
  );
}

/** The Revoke button of a credential's row, which opens its `RevokeDialog`. */
export function RevokeButton(props: { label: string; onClick(): void }) {
  return (
    <button type="button" class="danger small-button" aria-label={props.label} onClick={props.onClick}>
      Revoke
    </button>
  );
}
