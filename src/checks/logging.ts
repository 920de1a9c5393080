import { existsSync, readFileSync } from 'node:fs';
import type { CheckContext, CheckDefinition, CheckOutcome } from './types.js';
import { Findings, unreadable } from './evidence/combine.js';
import { loadDocker } from './evidence/docker.js';
import { serviceEnvironments, usesUnit } from './evidence/environment.js';
import { loadKubernetes } from './evidence/kubernetes.js';
import { findProcess, stdoutTarget } from './evidence/process.js';
import { lastValue, loadUnit } from './evidence/systemd.js';
import { redactText } from '../redact.js';

/** What Barycenter logs (RUST_LOG) and where its output goes. */

// ---- logging.level -----------------------------------------------------------------------

/** Levels an EnvFilter directive list enables; invalid filters fall back to info. */
export function rustLogLevels(value: string): { levels: string[]; valid: boolean } {
  const levels: string[] = [];
  for (const directive of value
    .split(',')
    .map((d) => d.trim())
    .filter(Boolean)) {
    const level = (directive.includes('=') ? directive.split('=').pop()! : directive).toLowerCase();
    if (['trace', 'debug', 'info', 'warn', 'error', 'off'].includes(level)) levels.push(level);
    else if (!directive.includes('=') && /^[a-z_][\w:]*$/i.test(directive))
      levels.push('trace'); // a bare target enables everything for it
    else return { levels: [], valid: false };
  }
  return { levels, valid: true };
}

async function loggingLevel(ctx: CheckContext): Promise<CheckOutcome> {
  const env = await serviceEnvironments(ctx);
  const f = new Findings();
  env.unavailable.forEach((r) => f.missing(r));
  for (const s of env.sources) {
    const value = s.vars.RUST_LOG;
    const evidence = {
      source: s.source,
      observed: value === undefined ? '(unset)' : redactText(value),
      expected: 'info or warn',
    };
    if (value === undefined) {
      f.add('pass', `RUST_LOG unset in ${s.source}: Barycenter defaults to info`, {
        ...evidence,
        note: 'unset or unparsable RUST_LOG means info',
      });
      continue;
    }
    const { levels, valid } = rustLogLevels(value);
    if (!valid)
      f.add('pass', `RUST_LOG=${evidence.observed} is not a valid filter: Barycenter falls back to info`, evidence);
    else if (levels.some((l) => l === 'debug' || l === 'trace'))
      f.add(
        'fail',
        `RUST_LOG=${evidence.observed} enables debug/trace output (may log secrets and floods logs)`,
        evidence,
      );
    else if (levels.every((l) => l === 'off' || l === 'error'))
      f.add('warn', `RUST_LOG=${evidence.observed} hides info/warn events operators need`, evidence);
    else f.add('pass', `RUST_LOG=${evidence.observed}`, evidence);
  }
  return f.outcome();
}

// ---- logging.forwarded -------------------------------------------------------------------

const FORWARDING_DRIVERS = new Set([
  'journald',
  'syslog',
  'fluentd',
  'gelf',
  'awslogs',
  'splunk',
  'gcplogs',
  'etwlogs',
  'logentries',
  'loki',
]);
const FREEBSD_RC_SCRIPT = '/usr/local/etc/rc.d/barycenter';

async function loggingForwarded(ctx: CheckContext): Promise<CheckOutcome> {
  const f = new Findings();
  switch (ctx.deployment) {
    case 'kubernetes': {
      const k = await loadKubernetes(ctx);
      f.add(
        'manual',
        'Kubernetes: container stdout is collected by the node; confirm a cluster log aggregation (Fluent Bit, Vector, Loki, a cloud agent) ships it',
        {
          source: k.ok ? k.value.workload.ref : 'manifests',
          note: k.ok ? 'Barycenter logs to stdout; the manifests cannot show cluster-level forwarding' : k.reason,
        },
      );
      return f.outcome();
    }
    case 'docker': {
      const d = await loadDocker(ctx);
      if (!d.ok) return unreadable(d);
      const driver = d.value.HostConfig?.LogConfig?.Type ?? '(unset)';
      const ev = {
        source: `${d.source} (HostConfig.LogConfig.Type)`,
        observed: driver,
        expected: 'journald, syslog, fluentd, gelf, awslogs, … (a forwarding driver)',
      };
      if (FORWARDING_DRIVERS.has(driver)) f.add('pass', `Docker log driver ${driver} forwards the logs`, ev);
      else if (driver === 'none') f.add('fail', 'Docker log driver none discards the logs', ev);
      else
        f.add(
          'warn',
          `Docker log driver ${driver} keeps logs on this host only; forward them unless a collector tails the files`,
          ev,
        );
      return f.outcome();
    }
    case 'freebsd': {
      // the shipped rc.d script runs daemon -f, which sends stdout/stderr to /dev/null.
      if (existsSync(FREEBSD_RC_SCRIPT)) {
        const script = readFileSync(FREEBSD_RC_SCRIPT, 'utf8');
        const line = script.split('\n').find((l) => /daemon\b/.test(l) && /-f\b/.test(l)) ?? '';
        const syslog = /\s-S\b|\s-l\s|\s-T\s/.test(line);
        f.add(
          line && !syslog ? 'fail' : 'manual',
          line && !syslog
            ? "daemon -f without -S sends Barycenter's output to /dev/null"
            : 'rc.d script changed from the shipped one; confirm where output goes',
          {
            source: `file:${FREEBSD_RC_SCRIPT}`,
            observed: line.trim() || '(no daemon -f line)',
            expected: 'daemon -S (syslog) or an output file that is forwarded',
          },
        );
      } else {
        f.add('fail', 'the shipped FreeBSD rc.d script runs daemon -f, which discards all output', {
          source: `file:${FREEBSD_RC_SCRIPT}`,
          observed: '(not present on this host)',
          note: 'daemon -f sends stdout/stderr to /dev/null; add -S (syslog)',
        });
      }
      return f.outcome();
    }
    case 'illumos':
      f.add('manual', 'SMF writes stdout to /var/svc/log/application-barycenter:default.log; confirm it is forwarded', {
        source: 'SMF manifest',
        observed: '/var/svc/log/application-barycenter:default.log',
      });
      return f.outcome();
    default:
      break;
  }
  if (usesUnit(ctx)) {
    const u = await loadUnit(ctx);
    if (u.ok) {
      const out = lastValue(u.value, 'StandardOutput') ?? 'journal';
      const ev = {
        source: `systemd unit ${u.value.files.join(' + ')} (StandardOutput=)`,
        observed: out,
        expected: 'journal (the default), kmsg or a socket',
      };
      if (/^(journal|kmsg|syslog)(\+console)?$/.test(out) || out.startsWith('socket'))
        f.add('pass', `systemd sends stdout to ${out}`, ev);
      else if (out === 'null') f.add('fail', 'StandardOutput=null discards the logs', ev);
      else f.add('warn', `StandardOutput=${out}: logs stay in a local file or terminal unless forwarded`, ev);
    } else f.missing(`systemd unit: ${u.reason}`);
  }
  const p = await findProcess(ctx);
  if (p.ok) {
    const target = await stdoutTarget(p.value.pid);
    const src = `proc:${p.value.pid}/fd/1 (found by ${p.value.foundBy})`;
    if (!target.ok) f.missing(target.reason);
    else if (target.value === '/dev/null')
      f.add('fail', `process ${p.value.pid} writes its logs to /dev/null`, {
        source: src,
        observed: target.value,
        expected: 'journald stream socket, a pipe to a collector or a forwarded file',
      });
    else
      f.add('manual', `process ${p.value.pid} stdout goes to ${target.value}; confirm it reaches central logging`, {
        source: src,
        observed: target.value,
      });
  } else if (!usesUnit(ctx)) f.missing(`live process: ${p.reason}`);
  return f.outcome();
}

export const checks: CheckDefinition[] = [
  {
    id: 'logging.level',
    section: 'logging',
    title: 'RUST_LOG is info or warn',
    rationale:
      'debug/trace logging floods storage and can record tokens and request details; Barycenter already logs its whole settings at info.',
    severity: 'medium',
    remediation: {
      systemd: 'Set Environment=RUST_LOG=info in the unit (or remove RUST_LOG: the default is info).',
      docker: 'Set RUST_LOG=info in the container environment.',
      kubernetes: 'Set env RUST_LOG=info (the chart default).',
      default: 'Set RUST_LOG=info or warn for the service.',
    },
    run: loggingLevel,
  },
  {
    id: 'logging.forwarded',
    section: 'logging',
    title: 'Logs are forwarded to central logging',
    rationale: 'Logs kept only on the host are lost with it and cannot be correlated during an incident.',
    severity: 'medium',
    remediation: {
      systemd: 'Keep StandardOutput=journal and forward the journal (systemd-journal-remote, a log agent).',
      docker:
        'Use a forwarding log driver (journald, syslog, fluentd, gelf, awslogs) or a collector reading json-file logs.',
      kubernetes: 'Deploy cluster log aggregation (Fluent Bit, Vector, a cloud agent).',
      freebsd: 'Replace daemon -f with daemon -S (syslog) in the rc.d script, then forward syslog.',
      illumos: 'Forward /var/svc/log/application-barycenter:default.log.',
      default: "Send Barycenter's stdout to journald or syslog and forward it.",
    },
    run: loggingForwarded,
  },
];
