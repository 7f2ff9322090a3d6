import { createDpopProof } from '../../dpop/proof.js';
import { storedDpopCredentials } from '../../dpop/stored-token.js';
import { AgentError } from '../../errors.js';
import { refuseClearText } from '../../net/clear-text.js';
import { openState, printJson } from '../context.js';

export interface TokenCommandOptions {
  url?: string;
  method?: string;
  /** A `DPoP-Nonce` the server asked for, signed into the proof. */
  nonce?: string;
  json?: boolean;
  state?: string;
}

/**
 * The stored EAR token and a DPoP proof for one request, so a person can reach a
 * protected resource by hand: the token alone is useless without a proof from this device's key.
 */
export async function tokenCommand(opts: TokenCommandOptions): Promise<void> {
  // The token and its proof in clear text could be read on the way and used before they arrive.
  if (opts.url) refuseClearText(parseUrl(opts.url), { what: '--url', carries: 'the result token and its DPoP proof' });
  const { key, token, expiresAt: exp } = await storedDpopCredentials(openState(opts.state));

  const authorization = `DPoP ${token}`;
  const dpop = opts.url ? await createDpopProof({ key, method: opts.method ?? 'GET', url: opts.url, accessToken: token, ...(opts.nonce ? { nonce: opts.nonce } : {}) }) : undefined;
  if (opts.json) {
    printJson({ authorization, ...(dpop ? { dpop } : {}), expires_at: exp ?? null });
    return;
  }
  process.stdout.write(`Authorization: ${authorization}\n`);
  if (dpop) process.stdout.write(`DPoP: ${dpop}\n`);
  else process.stderr.write('note: add --url URL (and --method) for the DPoP proof a gateway requires with this token\n');
}

function parseUrl(input: string): URL {
  try {
    return new URL(input);
  } catch {
    throw new AgentError('bad_url', `--url "${input}" is not a URL: give the full address of the request, e.g. https://app.example.com/`);
  }
}
