/**
 * `nft -j list ruleset`. Inbound traffic is filtered when a base chain on an inbound
 * hook drops by policy, or when a drop/reject verdict is reachable from one through
 * jump/goto (verdict maps included). A ruleset that exists but accepts everything
 * (Debian's default nftables.conf, LXD/Docker NAT tables) filters nothing.
 */
export interface NftReading {
  filtersInbound: boolean;
}

const INBOUND_HOOKS = new Set(['input', 'prerouting', 'ingress']);
const INBOUND_FAMILIES = new Set(['ip', 'ip6', 'inet', 'netdev']);

interface Chain {
  family: string;
  table: string;
  policy: string | null;
  inbound: boolean;
  rules: unknown[][];
}

/** null when the text is not nft's JSON output. */
export function parseNftRuleset(text: string): NftReading | null {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return null;
  }
  const items = (doc as { nftables?: unknown } | null)?.nftables;
  if (!Array.isArray(items)) return null;

  const chains = new Map<string, Chain>();
  const idOf = (family: string, table: string, name: string) => JSON.stringify([family, table, name]);
  const chainOf = (family: unknown, table: unknown, name: unknown): Chain => {
    const id = idOf(String(family), String(table), String(name));
    let c = chains.get(id);
    if (!c) chains.set(id, (c = { family: String(family), table: String(table), policy: null, inbound: false, rules: [] }));
    return c;
  };
  for (const item of items) {
    if (typeof item !== 'object' || item === null) continue;
    const { chain, rule } = item as { chain?: Record<string, unknown>; rule?: Record<string, unknown> };
    if (chain) {
      const c = chainOf(chain.family, chain.table, chain.name);
      c.policy = typeof chain.policy === 'string' ? chain.policy : null;
      c.inbound = INBOUND_HOOKS.has(String(chain.hook)) && INBOUND_FAMILIES.has(String(chain.family));
    } else if (rule && Array.isArray(rule.expr)) {
      chainOf(rule.family, rule.table, rule.chain).rules.push(rule.expr);
    }
  }

  const visited = new Set<string>();
  const filters = (id: string): boolean => {
    if (visited.has(id)) return false;
    visited.add(id);
    const chain = chains.get(id);
    if (!chain) return false;
    for (const expr of chain.rules) {
      const { verdict, targets } = scan(expr);
      if (verdict) return true;
      // jump/goto stay inside the chain's own table.
      if (targets.some((t) => filters(idOf(chain.family, chain.table, t)))) return true;
    }
    return false;
  };
  for (const [id, chain] of chains) {
    if (!chain.inbound) continue;
    if (chain.policy === 'drop' || filters(id)) return { filtersInbound: true };
  }
  return { filtersInbound: false };
}

/** Looks through a rule's expressions for a drop/reject verdict and for jump/goto targets. */
function scan(expr: unknown): { verdict: boolean; targets: string[] } {
  const targets: string[] = [];
  let verdict = false;
  const walk = (v: unknown, depth: number): void => {
    if (depth > 64 || typeof v !== 'object' || v === null) return;
    if (Array.isArray(v)) return v.forEach((x) => walk(x, depth + 1));
    for (const [key, value] of Object.entries(v)) {
      if (key === 'drop' || key === 'reject') verdict = true;
      else if ((key === 'jump' || key === 'goto') && typeof (value as { target?: unknown })?.target === 'string') {
        targets.push((value as { target: string }).target);
      } else if (key === 'xt' && isXtDropOrReject(value)) verdict = true;
      else walk(value, depth + 1);
    }
  };
  walk(expr, 0);
  return { verdict, targets };
}

/** iptables-nft rules that nft cannot express natively show up as xt targets. */
function isXtDropOrReject(value: unknown): boolean {
  const v = value as { type?: unknown; name?: unknown } | null;
  return v?.type === 'target' && (v.name === 'REJECT' || v.name === 'DROP');
}
