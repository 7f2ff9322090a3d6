import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';

/** Environment variable naming the state directory when `--state` is not given. */
export const STATE_ENV = 'POSTERN_AGENT_STATE';
/** State directory of the system service (running as root). */
export const SYSTEM_STATE_DIR = '/var/lib/postern-agent';

/** Names of the files inside the state directory. */
export const StateFile = {
  device: 'device.json',
  lastResult: 'last-result.json',
  deviceKey: 'device-key.jwk',
  /** The key a rotation moves to, until the server confirmed it. */
  nextDeviceKey: 'device-key.next.jwk',
} as const;

export interface StateDirInputs {
  /** `--state DIR` */
  flag?: string | undefined;
  env?: NodeJS.ProcessEnv;
  /** Effective uid, or undefined where there is none (Windows). */
  uid?: number | undefined;
  home?: string;
  platform?: NodeJS.Platform;
}

/**
 * Where the agent keeps its key and state: `--state DIR`, else `$POSTERN_AGENT_STATE`,
 * else `/var/lib/postern-agent` for root, else `${XDG_STATE_HOME:-~/.local/state}/postern-agent`.
 * On Windows the per-user default is `%LOCALAPPDATA%\postern-agent`.
 */
export function resolveStateDir(inputs: StateDirInputs = {}): string {
  const env = inputs.env ?? process.env;
  const explicit = inputs.flag || env[STATE_ENV];
  if (explicit) return resolve(explicit);

  const platform = inputs.platform ?? process.platform;
  const uid = 'uid' in inputs ? inputs.uid : process.getuid?.();
  const home = inputs.home ?? homedir();
  if (platform !== 'win32' && uid === 0) return SYSTEM_STATE_DIR;
  if (platform === 'win32') return join(env.LOCALAPPDATA || join(home, 'AppData', 'Local'), 'postern-agent');

  // XDG says a relative XDG_STATE_HOME is invalid and must be ignored.
  const xdg = env.XDG_STATE_HOME && isAbsolute(env.XDG_STATE_HOME) ? env.XDG_STATE_HOME : join(home, '.local', 'state');
  return join(xdg, 'postern-agent');
}
