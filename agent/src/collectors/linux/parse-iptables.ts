/**
 * `iptables -S` (filter table). Inbound traffic is filtered when INPUT's policy is DROP
 * or a DROP/REJECT target is reachable from INPUT through -j/-g jumps (ufw, firewalld
 * and Docker keep their rules in chains of their own).
 */
export interface IptablesReading {
  filtersInbound: boolean;
}

const BUILTIN_TARGETS = new Set(['ACCEPT', 'RETURN', 'LOG', 'NFLOG', 'MARK', 'CONNMARK', 'NOTRACK', 'CT', 'QUEUE', 'NFQUEUE', 'AUDIT', 'TRACE']);

/** null when the text does not look like `iptables -S` output. */
export function parseIptablesS(text: string): IptablesReading | null {
  const policies = new Map<string, string>();
  const rules = new Map<string, string[]>();
  let recognised = false;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    let m = /^-P (\S+) (\S+)/.exec(line);
    if (m) {
      policies.set(m[1]!, m[2]!);
      recognised = true;
      continue;
    }
    m = /^-A (\S+) .*?-[jg] (\S+)/.exec(line);
    if (m) {
      const list = rules.get(m[1]!) ?? [];
      list.push(m[2]!);
      rules.set(m[1]!, list);
    }
  }
  if (!recognised || !policies.has('INPUT')) return null;

  const visited = new Set<string>();
  const filters = (chain: string): boolean => {
    if (visited.has(chain)) return false;
    visited.add(chain);
    for (const target of rules.get(chain) ?? []) {
      if (target === 'DROP' || target === 'REJECT') return true;
      if (!BUILTIN_TARGETS.has(target) && filters(target)) return true;
    }
    return false;
  };
  return { filtersInbound: policies.get('INPUT') === 'DROP' || filters('INPUT') };
}

/** The kernel has no filter table at all (legacy iptables, module never loaded): nothing filters. */
export function isMissingIptablesTable(stderr: string): boolean {
  return /Table does not exist/i.test(stderr);
}
