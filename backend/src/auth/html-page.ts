/** The stylesheet of every server-rendered page, allowed by its hash in the Content-Security-Policy. */
export const PAGE_STYLE = `body{font:16px/1.5 system-ui,sans-serif;max-width:42rem;margin:3rem auto;padding:0 1rem;color:#1d2430}
h1{font-size:1.5rem}.verdict{font-weight:600}.fail{color:#a3261b}.pass{color:#1f6f3a}
li{margin:.5rem 0}code,pre{background:#f1f3f6;padding:.1rem .3rem;border-radius:3px;white-space:pre-wrap}`;

/** Text for HTML content and attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);
}

/** A whole page; `body` must already be escaped HTML. No script: the pages work without it. */
export function htmlPage(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="referrer" content="no-referrer"><title>${escapeHtml(title)} · Postern</title><style>${PAGE_STYLE}</style></head>
<body>
${body}
</body></html>
`;
}
