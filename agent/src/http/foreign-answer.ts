/** What came back that carries no Postern error: only what the HTTP layer says. */
export interface ForeignAnswer {
  status: number;
  /** The media type of the body, without parameters; null when none was given. */
  contentType: string | null;
  /** Where a 3xx points (the agent follows no redirect). */
  location?: string | null | undefined;
}

export interface ForeignAnswerWords {
  message: string;
  /**
   * Whatever answered is not a Postern server (a web server, a catch-all page, a
   * redirect): asking again cannot help, the URL must change.
   */
  notPostern: boolean;
}

/** Statuses a proxy or an overloaded server gives for a while: try again. */
const PASSING = new Set([408, 429, 500, 502, 503, 504]);
/** Statuses of a proxy or firewall refusing the request. */
const REFUSED_ON_THE_WAY = new Set([401, 403, 407]);

/**
 * What to say about an answer without a Postern body, and whether it comes from
 * something that is not a Postern server. Postern answers every error with problem
 * details, so a 404, 405 or 501 without one, an HTML page, or a redirect is another
 * service at that URL; a 5xx page or a 429 is a proxy or server failing for now;
 * 401/403/407 is a proxy or firewall. The status never makes the device revoked.
 */
export function describeForeignAnswer(request: string, server: string, answer: ForeignAnswer): ForeignAnswerWords {
  const body = answer.contentType ? ` (${answer.contentType})` : '';
  const said = `${request} answered HTTP ${answer.status}${body}`;
  if (REFUSED_ON_THE_WAY.has(answer.status)) {
    return { notPostern: false, message: `${said} without a Postern error body: a proxy or firewall between this device and the server refused the request; check its rules for ${server}` };
  }
  if (PASSING.has(answer.status)) {
    return { notPostern: false, message: `${said} without a Postern error body: the server or a proxy in front of it failed; try again later` };
  }
  if (answer.status >= 300 && answer.status < 400) {
    const to = answer.location ? ` to ${answer.location}` : '';
    return { notPostern: true, message: `${server} is not a Postern server: ${said}, a redirect${to}, and the agent follows none: give the server's own https:// URL` };
  }
  return {
    notPostern: true,
    message: `${server} is not a Postern server: ${said}${answer.status < 300 ? ' with a body that is not Postern\'s' : ' without a Postern error body'}: check the server URL (the address of postern-server, or of the HTTPS proxy in front of it, with its path if it has one)`,
  };
}

/** The media type of a Content-Type header value: "text/html; charset=utf-8" → "text/html". */
export function mediaType(value: string | null | undefined): string | null {
  const type = value?.split(';')[0]?.trim().toLowerCase();
  return type ? type : null;
}
