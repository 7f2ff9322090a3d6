import { Command, Option } from 'commander';
import { CA_FILE_ENV } from '../net/trust-store.js';
import { STATE_ENV, SYSTEM_STATE_DIR } from '../state/paths.js';
import { AGENT_VERSION } from '../version.js';

/**
 * Each command's module is loaded when the command runs, so `collect` never loads the
 * WebSocket client or the key store, and the agent stays small.
 */
const lazy =
  <A extends unknown[]>(load: () => Promise<(...args: A) => Promise<void>>) =>
  async (...args: A): Promise<void> =>
    (await load())(...args);

const stateOption = () =>
  new Option('--state <dir>', 'state directory: device key, enrollment, last result').env(STATE_ENV);

const caOption = (what: string) =>
  new Option('--ca <file>', `PEM file of a private CA to trust besides the system's (may hold several certificates)${what}`).env(CA_FILE_ENV);

const ENVIRONMENT = `
Environment:
  POSTERN_SERVER        server URL for enroll, and for run instead of the enrolled one
  POSTERN_ENROLL_TOKEN  enrollment token for enroll (keeps it out of the process list)
  ${CA_FILE_ENV.padEnd(20)}  private CA for enroll and run, when --ca is not given
  ${STATE_ENV.padEnd(20)}  state directory, when --state is not given
  POSTERN_DEBUG         set to 1 to print stack traces of unexpected errors
  POSTERN_AGENT_NO_V8_FLAGS  set to 1 to run without the agent's memory-saving V8 flags

The server must be https://, or http:// to this machine (127.0.0.1, ::1, localhost)
for a local test: over http:// to another machine the enrollment token and reports
could be read on the network and used by someone else.

State directory: --state, else $${STATE_ENV}, else ${SYSTEM_STATE_DIR} when run as root,
else \${XDG_STATE_HOME:-~/.local/state}/postern-agent.

Exit status: 0 success, 1 error, 3 this device is revoked or its enrollment expired,
130 interrupted a second time while stopping.`;

/** The `postern-agent` command line. */
export function buildProgram(): Command {
  const program = new Command('postern-agent')
    .description('Postern device agent: proves this device\'s security posture to a Postern server with a key that never leaves it.')
    .version(AGENT_VERSION, '-V, --version')
    .showHelpAfterError('(add --help for usage)')
    .addHelpText('after', ENVIRONMENT);

  program
    .command('enroll')
    .description('enroll this device with a one-time token from your administrator; makes the device key')
    .addOption(new Option('--server <url>', 'Postern server, e.g. https://postern.example.com').env('POSTERN_SERVER'))
    .addOption(new Option('--token <token>', 'enrollment token').env('POSTERN_ENROLL_TOKEN'))
    .addOption(caOption('; saved, so run uses it too'))
    .addOption(stateOption())
    .option('--force', 'forget the current enrollment and key, and enroll again')
    .addHelpText('after', '\nExamples:\n  postern-agent enroll --server https://postern.example.com --token "$TOKEN"\n  postern-agent enroll --server https://postern.corp.internal --ca /etc/ssl/corp-ca.pem --token "$TOKEN"')
    .action(lazy(async () => (await import('./commands/enroll.js')).enrollCommand));

  program
    .command('run')
    .description('report this device\'s posture to the server: at every interval, when asked, and when it changes; reconnects on its own')
    .option('--once', 'send one report, print the verdict and what to fix, and exit (0 when the server accepted it)')
    .option('--http', 'with --once: use plain HTTPS instead of WebSocket (for proxies that break WebSocket)')
    .addOption(new Option('--server <url>', 'use this server instead of the one saved at enrollment').env('POSTERN_SERVER'))
    .addOption(caOption(', instead of the one saved at enrollment'))
    .addOption(stateOption())
    .action(lazy(async () => (await import('./commands/run.js')).runCommand));

  program
    .command('collect')
    .description('read this device\'s posture and print it; sends nothing and needs no enrollment')
    .option('--json', 'print the posture object exactly as it would be reported')
    .option('--replay <file>', 'compute the posture from a diagnostic bundle (postern-agent diag) instead of this device')
    .action(lazy(async () => (await import('./commands/collect.js')).collectCommand));

  program
    .command('diag')
    .description('record every probe\'s command, exit code and output (secrets and serial numbers redacted) and the posture, for support')
    .requiredOption('--out <file>', 'where to write the bundle (JSON, readable by you only)')
    .addHelpText('after', '\nSupport replays it on any machine with:\n  postern-agent collect --json --replay FILE')
    .action(lazy(async () => (await import('./commands/diag.js')).diagCommand));

  program
    .command('status')
    .description('show the last verdict and score, when it was given, and how to fix each failing check')
    .option('--json', 'print as JSON')
    .option('--no-link', "do not ask the server for a link to this device's page")
    .addOption(stateOption())
    .action(lazy(async () => (await import('./commands/status.js')).statusCommand));

  program
    .command('token')
    .description('print the stored attestation token and a DPoP proof, to call a protected resource by hand')
    .option('--url <url>', 'URL of the request the DPoP proof is for')
    .option('--method <method>', 'HTTP method of that request', 'GET')
    .option('--json', 'print {authorization, dpop, expires_at} as JSON')
    .addOption(stateOption())
    .addHelpText(
      'after',
      '\nExample:\n  postern-agent token --url https://app.example.com/ --json > t.json\n' +
        '  curl -H "Authorization: $(jq -r .authorization t.json)" -H "DPoP: $(jq -r .dpop t.json)" https://app.example.com/',
    )
    .action(lazy(async () => (await import('./commands/token.js')).tokenCommand));

  program
    .command('proof')
    .description('print the two headers (Authorization and DPoP) another HTTP client sends to make one request as this device')
    .requiredOption('--url <url>', 'URL of the request the DPoP proof is for')
    .option('--method <method>', 'HTTP method of that request', 'GET')
    .option('--nonce <nonce>', 'the DPoP-Nonce the server answered with, when it asked for one (use_dpop_nonce)')
    .option('--json', 'print {authorization, dpop, expires_at} as JSON')
    .addOption(stateOption())
    .addHelpText(
      'after',
      '\nA proof is good for one request. Example:\n  postern-agent proof --url https://app.example.com/ --json > h.json\n' +
        '  curl -H "Authorization: $(jq -r .authorization h.json)" -H "DPoP: $(jq -r .dpop h.json)" https://app.example.com/',
    )
    .action(lazy(async () => (await import('./commands/proof.js')).proofCommand));

  program
    .command('fetch')
    .description("make an HTTP request as this device: its result token and a fresh DPoP proof for exactly that method and URL; prints the body")
    .argument('<url>', 'the full URL to request, e.g. https://app.example.com/reports')
    .option('-X, --request <method>', 'HTTP method (default GET, or POST with --data)')
    .option('-H, --header <header>', "a request header 'Name: value' (repeat for more)", (value: string, previous: string[] = []) => [...previous, value])
    .option('--data <body>', 'request body: the text itself, or @FILE for the bytes of a file')
    .addOption(caOption(', instead of the one saved at enrollment'))
    .addOption(stateOption())
    .addHelpText(
      'after',
      '\nThe body goes to stdout; a status other than 2xx is printed on stderr and exits 1 (3 when the device is revoked).\n' +
        'When the server asks for a DPoP nonce (401 use_dpop_nonce), the request is made once more with it.\n\n' +
        "Example:\n  postern-agent fetch https://app.example.com/api/items -X POST -H 'Content-Type: application/json' --data @item.json",
    )
    .action(lazy(async () => (await import('./commands/fetch.js')).fetchCommand));

  return program;
}
