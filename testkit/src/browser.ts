/** One hop of a visit: the URL asked for, the answer, and its body as text. */
export interface Hop {
  url: string;
  response: Response;
  body: string;
}

/** Follows redirects by hand and keeps cookies per host, as a browser does; returns every answer on the way. */
export class Browser {
  private readonly jar = new Map<string, Map<string, string>>();

  async visit(start: string): Promise<Hop[]> {
    const hops: Hop[] = [];
    let url = start;
    for (let i = 0; i < 20; i++) {
      const host = new URL(url).hostname;
      const cookies = [...(this.jar.get(host) ?? new Map<string, string>())].map(([k, v]) => `${k}=${v}`).join('; ');
      const response = await fetch(url, { redirect: 'manual', headers: cookies ? { cookie: cookies } : {} });
      this.keep(host, response);
      hops.push({ url, response, body: await response.text() });
      const location = response.headers.get('location');
      if (response.status < 300 || response.status >= 400 || !location) return hops;
      url = new URL(location, url).href;
    }
    throw new Error('too many redirects');
  }

  cookie(host: string, name: string): string | undefined {
    return this.jar.get(host)?.get(name);
  }

  private keep(host: string, response: Response): void {
    const jar = this.jar.get(host) ?? new Map<string, string>();
    this.jar.set(host, jar);
    for (const line of response.headers.getSetCookie()) {
      const [pair = ''] = line.split(';');
      const at = pair.indexOf('=');
      const name = pair.slice(0, at).trim();
      const value = pair.slice(at + 1).trim();
      if (!value || /max-age=0\b/i.test(line) || /expires=Thu, 01 Jan 1970/i.test(line)) jar.delete(name);
      else jar.set(name, value);
    }
  }
}
