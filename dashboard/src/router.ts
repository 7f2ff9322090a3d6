import { useEffect, useState } from 'preact/hooks';

/** Client routes with real paths (the backend answers index.html for them), history API only. */
export function navigate(path: string): void {
  if (path === location.pathname + location.search) return;
  history.pushState(null, '', path);
  dispatchEvent(new PopStateEvent('popstate'));
}

export function useLocation(): { path: string; search: URLSearchParams } {
  const [state, setState] = useState(() => ({ path: location.pathname, search: new URLSearchParams(location.search) }));
  useEffect(() => {
    const update = () => setState({ path: location.pathname, search: new URLSearchParams(location.search) });
    addEventListener('popstate', update);
    return () => removeEventListener('popstate', update);
  }, []);
  return state;
}

/** Links that navigate in the app, while staying real links (open in a new tab, keyboard). */
export function onLinkClick(event: MouseEvent): void {
  const anchor = (event.target as HTMLElement | null)?.closest('a');
  if (!anchor || anchor.target || anchor.origin !== location.origin || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  if (anchor.hasAttribute('download') || anchor.pathname.startsWith('/v1/')) return;
  event.preventDefault();
  navigate(anchor.pathname + anchor.search);
}
