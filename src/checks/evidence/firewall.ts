import { execFile } from 'node:child_process';
import { readlink } from 'node:fs/promises';
import { promisify } from 'node:util';
import type { CheckContext, Lookup } from '../types.js';
import { findProcess } from './process.js';

const run = promisify(execFile);

/**
 * The inbound packet filter of the network namespace Barycenter listens in: `nft -j list ruleset`,
 * else `iptables-save`. Both are read, never changed. A simplified first-match evaluation of the
 * input-hook chains answers "is new inbound TCP to port P dropped, source-restricted or open?".
 * Jumps into user chains (ufw, firewalld zones) are not followed; the chain policy then decides,
 * and the evidence says so.
 */
export type PortVerdict = 'blocked' | 'restricted' | 'open';

export interface FilterRule {
  text: string;
  /** undefined: the rule matches any port. */
  ports?: (number | [number, number])[];
  /** Matches a source address/interface: a restriction, not an opening to everyone. */
  sourceLimited: boolean;
  /** ct state / loopback rules: they never admit new outside connections. */
  neutral: boolean;
  verdict: 'accept' | 'drop' | 'reject' | 'other';
}

export interface InputChain {
  name: string;
  policy: 'accept' | 'drop';
  rules: FilterRule[];
}

export interface FirewallFacts {
  tool: 'nft' | 'iptables-save';
  source: string;
  chains: InputChain[];
}

// ---- nft -j ------------------------------------------------------------------------------

type NftExpr = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function nftPorts(right: unknown): (number | [number, number])[] | undefined {
  if (typeof right === 'number') return [right];
  if (right && typeof right === 'object') {
    const r = right as { set?: unknown[]; range?: [number, number] };
    if (r.range) return [r.range];
    if (r.set) return r.set.flatMap((x) => nftPorts(x) ?? []);
  }
  return undefined;
}

export function parseNftJson(text: string): InputChain[] {
  const items = (JSON.parse(text) as { nftables?: NftExpr[] }).nftables ?? [];
  const chains = new Map<string, InputChain>();
  for (const it of items) {
    const c = it.chain;
    if (c && c.hook === 'input' && c.type === 'filter') {
      chains.set(`${c.family}/${c.table}/${c.name}`, {
        name: `${c.family} ${c.table} ${c.name}`,
        policy: c.policy === 'drop' ? 'drop' : 'accept',
        rules: [],
      });
    }
  }
  for (const it of items) {
    const r = it.rule;
    const chain = r && chains.get(`${r.family}/${r.table}/${r.chain}`);
    if (!chain) continue;
    const rule: FilterRule = { text: JSON.stringify(r.expr), sourceLimited: false, neutral: false, verdict: 'other' };
    for (const e of r.expr as NftExpr[]) {
      if (e.match) {
        const left = e.match.left ?? {};
        if (left.payload?.field === 'dport') rule.ports = nftPorts(e.match.right);
        else if (left.payload?.field === 'saddr' || left.meta?.key === 'iifname' || left.meta?.key === 'iif') {
          if (e.match.right === 'lo') rule.neutral = true;
          else rule.sourceLimited = true;
        } else if (left.ct?.key === 'state') rule.neutral = true;
      }
      if ('accept' in e) rule.verdict = 'accept';
      else if ('drop' in e) rule.verdict = 'drop';
      else if ('reject' in e) rule.verdict = 'reject';
    }
    chain.rules.push(rule);
  }
  return [...chains.values()];
}

// ---- iptables-save -----------------------------------------------------------------------

export function parseIptablesSave(text: string): InputChain[] {
  const chains: InputChain[] = [];
  let table = '';
  let input: InputChain | undefined;
  for (const line of text.split('\n')) {
    if (line.startsWith('*')) {
      table = line.slice(1).trim();
      input = undefined;
      continue;
    }
    if (table !== 'filter') continue;
    const pol = /^:INPUT (\S+)/.exec(line);
    if (pol) {
      input = { name: 'iptables filter INPUT', policy: pol[1] === 'DROP' ? 'drop' : 'accept', rules: [] };
      chains.push(input);
      continue;
    }
    if (!input || !line.startsWith('-A INPUT ')) continue;
    const rule: FilterRule = { text: line, sourceLimited: false, neutral: false, verdict: 'other' };
    const dport = /--dports? (\S+)/.exec(line);
    if (dport) {
      rule.ports = dport[1]!.split(',').map((p) => {
        const [a, b] = p.split(':').map(Number) as [number, number | undefined];
        return b === undefined ? a : ([a, b] as [number, number]);
      });
    }
    if (/(^| )-i lo( |$)/.test(line) || /--ctstate|--state /.test(line)) rule.neutral = true;
    else if (/(^| )(-s|-i|--src-range|--match-set) /.test(line)) rule.sourceLimited = true;
    const target = /-j (\S+)/.exec(line)?.[1];
    rule.verdict =
      target === 'ACCEPT' ? 'accept' : target === 'DROP' ? 'drop' : target === 'REJECT' ? 'reject' : 'other';
    input.rules.push(rule);
  }
  return chains;
}

// ---- evaluation --------------------------------------------------------------------------

const covers = (ports: FilterRule['ports'], port: number) =>
  ports === undefined || ports.some((p) => (typeof p === 'number' ? p === port : port >= p[0] && port <= p[1]));

/** First matching rule wins in each input chain; a packet must pass every input-hook chain. */
export function verdictFor(facts: FirewallFacts, port: number): { verdict: PortVerdict; by: string } {
  if (facts.chains.length === 0) return { verdict: 'open', by: `${facts.tool}: no input filter chain` };
  let result: { verdict: PortVerdict; by: string } = { verdict: 'open', by: '' };
  for (const chain of facts.chains) {
    let decided: { verdict: PortVerdict; by: string } | undefined;
    for (const r of chain.rules) {
      if (r.neutral || r.verdict === 'other' || !covers(r.ports, port)) continue;
      if (r.verdict === 'drop' || r.verdict === 'reject') {
        if (!r.sourceLimited) decided = { verdict: 'blocked', by: `${chain.name}: ${r.text}` };
        else continue; // a drop for some sources leaves the others to later rules
      } else if (r.sourceLimited) {
        decided = { verdict: 'restricted', by: `${chain.name}: ${r.text}` };
      } else {
        decided = { verdict: 'open', by: `${chain.name}: ${r.text}` };
      }
      break;
    }
    decided ??=
      chain.policy === 'drop'
        ? { verdict: 'blocked', by: `${chain.name}: policy drop` }
        : { verdict: 'open', by: `${chain.name}: policy accept, no rule for port ${port}` };
    if (decided.verdict === 'blocked') return decided;
    if (decided.verdict === 'restricted' || result.by === '') result = decided;
  }
  return result;
}

/** Runs a read-only listing command, inside the process's network namespace when it has its own. */
async function listing(cmd: string, args: string[], netns: string | undefined): Promise<string> {
  const [file, argv] = netns ? ['nsenter', [`--net=${netns}`, cmd, ...args]] : [cmd, args];
  const { stdout } = await run(file, argv, { timeout: 10_000, maxBuffer: 32 * 1024 * 1024 });
  return stdout;
}

/** The process's network namespace path when it differs from barysafe's own. */
export async function processNetns(ctx: CheckContext): Promise<string | undefined> {
  const p = await findProcess(ctx);
  if (!p.ok) return undefined;
  try {
    const [theirs, ours] = await Promise.all([readlink(`/proc/${p.value.pid}/ns/net`), readlink('/proc/self/ns/net')]);
    return theirs === ours ? undefined : `/proc/${p.value.pid}/ns/net`;
  } catch {
    return undefined;
  }
}

export async function loadFirewall(ctx: CheckContext): Promise<Lookup<FirewallFacts>> {
  return ctx.memo('firewall', async () => {
    const netns = await processNetns(ctx);
    const where = netns ? ` in the network namespace of ${netns.replace('/ns/net', '')}` : '';
    const failures: string[] = [];
    let nftEmpty: FirewallFacts | undefined;
    try {
      const chains = parseNftJson(await listing('nft', ['-j', 'list', 'ruleset'], netns));
      const facts: FirewallFacts = { tool: 'nft', source: `nft -j list ruleset${where}`, chains };
      if (chains.length) return found(facts);
      nftEmpty = facts; // rules may still live in legacy iptables tables
    } catch (e) {
      failures.push(`nft: ${describe(e)}`);
    }
    try {
      const chains = parseIptablesSave(await listing('iptables-save', [], netns));
      if (chains.length || !nftEmpty) return found({ tool: 'iptables-save', source: `iptables-save${where}`, chains });
    } catch (e) {
      failures.push(`iptables-save: ${describe(e)}`);
    }
    if (nftEmpty) return found(nftEmpty);
    return { ok: false, reason: `cannot read the firewall${where}: ${failures.join('; ')}` };
  });
}

const found = (facts: FirewallFacts): Lookup<FirewallFacts> => ({ ok: true, value: facts, source: facts.source });

function describe(e: unknown): string {
  const err = e as NodeJS.ErrnoException & { stderr?: string };
  if (err.code === 'ENOENT') return 'not installed';
  const text = (err.stderr || err.message || String(e)).trim().split('\n')[0] ?? '';
  return /permission|not permitted/i.test(text)
    ? `permission denied (${text}); run as root or with CAP_NET_ADMIN`
    : text;
}
