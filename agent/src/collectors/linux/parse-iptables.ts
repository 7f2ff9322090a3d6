/**
 * `iptables -S` (filter table). Inbound traffic is filtered when INPUT refuses NEW
 * connections by default: its policy is DROP, or it reaches an unconditional DROP/REJECT
 * (directly or through unconditional -j/-g into ufw's, firewalld's or a user's chains)
 * before any unconditional ACCEPT. A DROP of some traffic (one source range on one
 * interface, INVALID packets, one port) under an ACCEPT policy is not a firewall.
 */
export interface IptablesReading {
  filtersInbound: boolean;
}

/** Targets that decide nothing: the packet goes on to the next rule. */
const PASSIVE_TARGETS = new Set(['LOG', 'NFLOG', 'MARK', 'CONNMARK', 'NOTRACK', 'CT', 'AUDIT', 'TRACE']);

interface Rule {
  target: string;
  goto: boolean;
  /** True when the rule applies to every NEW connection: no match but comments and a NEW state. */
  unconditional: boolean;
}

/** null when the text does not look like `iptables -S` output. */
export function parseIptablesS(text: string): IptablesReading | null {
  const policies = new Map<string, string>();
  const rules = new Map<string, Rule[]>();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    const policy = /^-P (\S+) (\S+)/.exec(line);
    if (policy) {
      policies.set(policy[1]!, policy[2]!);
      continue;
    }
    const rule = /^-A (\S+) (.*)$/.exec(line);
    const parsed = rule ? parseRule(rule[2]!) : null;
    if (rule && parsed) rules.set(rule[1]!, [...(rules.get(rule[1]!) ?? []), parsed]);
  }
  if (!policies.has('INPUT')) return null;

  const visiting = new Set<string>();
  /** What the chain does to a NEW connection no conditional rule singled out. */
  const fallthrough = (chain: string): 'drop' | 'accept' | 'continue' => {
    if (visiting.has(chain)) return 'continue';
    visiting.add(chain);
    try {
      for (const r of rules.get(chain) ?? []) {
        if (!r.unconditional || PASSIVE_TARGETS.has(r.target)) continue;
        if (r.target === 'DROP' || r.target === 'REJECT') return 'drop';
        if (r.target === 'ACCEPT') return 'accept';
        if (r.target === 'RETURN') return 'continue';
        if (['QUEUE', 'NFQUEUE'].includes(r.target)) return 'accept';
        const inner = fallthrough(r.target);
        if (inner !== 'continue' || r.goto) return inner;
      }
      return 'continue';
    } finally {
      visiting.delete(chain);
    }
  };
  return { filtersInbound: policies.get('INPUT') === 'DROP' || fallthrough('INPUT') === 'drop' };
}

/** One rule's target and whether it matches every new connection; null without a target. */
function parseRule(spec: string): Rule | null {
  const tokens = [...spec.matchAll(/"(?:[^"\\]|\\.)*"|\S+/g)].map((m) => m[0]);
  let target: string | null = null;
  let goto = false;
  let unconditional = true;
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (t === '-j' || t === '-g') {
      target = tokens[i + 1] ?? null;
      goto = t === '-g';
      // Target options (--reject-with, --log-prefix…) follow; they do not narrow the match.
      break;
    }
    if (t === '-m' && (tokens[i + 1] === 'comment' || tokens[i + 1] === 'state' || tokens[i + 1] === 'conntrack')) {
      i += 1;
    } else if (t === '--comment') {
      i += 1;
    } else if (t === '--state' || t === '--ctstate') {
      const states = (tokens[i + 1] ?? '').split(',');
      if (!states.includes('NEW')) unconditional = false;
      i += 1;
    } else {
      unconditional = false;
    }
  }
  return target ? { target, goto, unconditional } : null;
}

/** The kernel has no filter table at all (legacy iptables, module never loaded): nothing filters. */
export function isMissingIptablesTable(stderr: string): boolean {
  return /Table does not exist/i.test(stderr);
}
