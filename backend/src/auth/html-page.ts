/** The stylesheet of every server-rendered page, allowed by its hash in the Content-Security-Policy. */
export const PAGE_STYLE = `body{font:16px/1.5 system-ui,sans-serif;max-width:42rem;margin:3rem auto;padding:0 1rem;color:#1d2430}
h1{font-size:1.5rem}.verdict{font-weight:600}.fail{color:#a3261b}.pass{color:#1f6f3a}
li{margin:.5rem 0}code,pre{background:#f1f3f6;padding:.1rem .3rem;border-radius:3px;white-space:pre-wrap}`;

/** Text for HTML content and attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);
}

export interface PageOptions {
  /** The page's referrer policy; a page that posts a form to this server needs one that keeps the Origin header. */
  referrer?: 'no-referrer' | 'strict-origin';
  /** A script file of this server that only adds to a page working without it, with its SRI hash. */
  script?: { src: string; integrity: string };
}

/** A whole page; `body` must already be escaped HTML. Never an inline script: the pages work without any. */
export function htmlPage(title: string, body: string, options: PageOptions = {}): string {
  const script = options.script ? `\n<script src="${escapeHtml(options.script.src)}" integrity="${escapeHtml(options.script.integrity)}"></script>` : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="referrer" content="${options.referrer ?? 'no-referrer'}"><title>${escapeHtml(title)} · Postern</title><style>${PAGE_STYLE}</style></head>
<body>
${body}${script}
</body></html>
`;
}
