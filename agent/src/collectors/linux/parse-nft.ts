/**
 * `nft -j list ruleset`. Inbound traffic is filtered when the input path refuses NEW
 * connections by default: a base chain on an inbound hook has policy drop, or an input
 * chain reaches an unconditional drop/reject (directly or through unconditional
 * jump/goto) before any unconditional accept. A drop of some traffic (a VPN client's
 * anti-spoofing rule, `ct state invalid drop`, one blocked port) under an accepting
 * policy leaves every other new connection open, so it is not a firewall; nor is a
 * ruleset that exists but accepts everything (Debian's default nftables.conf, LXD/Docker
 * NAT tables).
 */
export interface NftReading {
  filtersInbound: boolean;
}

const INBOUND_HOOKS = new Set(['input', 'prerouting', 'ingress']);
const INBOUND_FAMILIES = new Set(['ip', 'ip6', 'inet', 'netdev']);
/** Statements that neither match nor decide: a rule made only of these and a verdict applies to every packet. */
const PASSIVE = new Set(['counter', 'log', 'comment', 'meta']);

interface Chain {
  family: string;
  table: string;
  policy: string | null;
  hook: string | null;
  rules: unknown[][];
}

/** What a chain does to a NEW inbound connection that no conditional rule singled out. */
type Fallthrough = 'drop' | 'accept' | 'continue';

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
    if (!c) chains.set(id, (c = { family: String(family), table: String(table), policy: null, hook: null, rules: [] }));
    return c;
  };
  for (const item of items) {
    if (typeof item !== 'object' || item === null) continue;
    const { chain, rule } = item as { chain?: Record<string, unknown>; rule?: Record<string, unknown> };
    if (chain) {
      const c = chainOf(chain.family, chain.table, chain.name);
      c.policy = typeof chain.policy === 'string' ? chain.policy : null;
      c.hook = INBOUND_FAMILIES.has(String(chain.family)) && INBOUND_HOOKS.has(String(chain.hook)) ? String(chain.hook) : null;
    } else if (rule && Array.isArray(rule.expr)) {
      chainOf(rule.family, rule.table, rule.chain).rules.push(rule.expr);
    }
  }

  const visiting = new Set<string>();
  const fallthrough = (id: string): Fallthrough => {
    const chain = chains.get(id);
    if (!chain || visiting.has(id)) return 'continue';
    visiting.add(id);
    try {
      for (const expr of chain.rules) {
        const step = unconditionalStep(expr);
        if (step === null) continue;
        if (step.kind === 'return') return 'continue';
        if (step.kind !== 'jump') return step.kind;
        // jump/goto stay inside the chain's own table; a goto never comes back.
        const inner = fallthrough(idOf(chain.family, chain.table, step.target));
        if (inner !== 'continue') return inner;
        if (step.goto) return 'continue';
      }
      return 'continue';
    } finally {
      visiting.delete(id);
    }
  };
  for (const [id, chain] of chains) {
    if (chain.hook === null) continue;
    // Every base chain on a hook must accept a packet; one that drops by default is enough.
    if (chain.policy === 'drop') return { filtersInbound: true };
    if (chain.hook === 'input' && fallthrough(id) === 'drop') return { filtersInbound: true };
  }
  return { filtersInbound: false };
}

type Step = { kind: 'drop' | 'accept' | 'return' } | { kind: 'jump'; target: string; goto: boolean };

/**
 * The verdict a rule gives every NEW connection, or null when the rule is conditional
 * (it matches something other than "the connection is new") or decides nothing.
 */
function unconditionalStep(expr: unknown[]): Step | null {
  let step: Step | null = null;
  for (const statement of expr) {
    if (typeof statement !== 'object' || statement === null) return null;
    const [key, value] = Object.entries(statement)[0] ?? [];
    if (key === undefined) return null;
    if (key === 'match') {
      if (!matchesEveryNewConnection(value)) return null;
    } else if (key === 'drop' || key === 'reject') step = { kind: 'drop' };
    else if (key === 'accept') step = { kind: 'accept' };
    else if (key === 'return') step = { kind: 'return' };
    else if (key === 'xt') {
      const target = xtTarget(value);
      if (target === 'DROP' || target === 'REJECT') step = { kind: 'drop' };
      else if (target === null) return null;
    } else if ((key === 'jump' || key === 'goto') && typeof (value as { target?: unknown } | null)?.target === 'string') {
      step = { kind: 'jump', target: (value as { target: string }).target, goto: key === 'goto' };
    } else if (!PASSIVE.has(key)) return null; // vmap, limit, quota, set updates…: not every packet
  }
  return step;
}

/** `ct state new`, `ct state { new, untracked }` or `ct state != established,related`: true for every new connection. */
function matchesEveryNewConnection(value: unknown): boolean {
  const m = value as { op?: unknown; left?: { ct?: { key?: unknown } }; right?: unknown } | null;
  if (m?.left?.ct?.key !== 'state') return false;
  const states = (Array.isArray(m.right) ? m.right : [m.right]).flatMap((s) => (typeof s === 'object' && s !== null && 'set' in s ? (s as { set: unknown[] }).set : [s]));
  const hasNew = states.includes('new');
  return m.op === '!=' ? !hasNew : (m.op === '==' || m.op === 'in') && hasNew;
}

/** iptables-nft rules that nft cannot express natively show up as xt statements: a target's name, null for an xt match. */
function xtTarget(value: unknown): string | null {
  const v = value as { type?: unknown; name?: unknown } | null;
  if (v?.type === 'target' && typeof v.name === 'string') return v.name;
  return null;
}
