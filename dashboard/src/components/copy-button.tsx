import { useEffect, useState } from 'preact/hooks';

/**
 * Copies `text` to the clipboard and says so in a live region. The clipboard API needs a secure
 * context (HTTPS or localhost); elsewhere the button says to select the text instead.
 */
export function CopyButton({ text, label }: { text: string; label: string }) {
  const [said, setSaid] = useState('');
  // The note goes after a while, so a second copy says so again.
  useEffect(() => {
    if (!said) return;
    const timer = setTimeout(() => setSaid(''), 4000);
    return () => clearTimeout(timer);
  }, [said]);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(text);
      setSaid('Copied');
    } catch {
      setSaid('Copying is not allowed here: select the text and copy it');
    }
  };
  return (
    <span class="copy">
      <button type="button" class="small-button" aria-label={label} onClick={() => void copy()}>
        Copy
      </button>
      <span class="muted small" role="status">
        {said}
      </span>
    </span>
  );
}
