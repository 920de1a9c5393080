import type { CheckContext, CheckDefinition, CheckOutcome } from './types.js';
import { Findings } from './evidence/combine.js';
import { loadDocker } from './evidence/docker.js';
import { usesDocker, usesKubernetes, usesUnit } from './evidence/environment.js';
import { effectiveSecurity, loadKubernetes } from './evidence/kubernetes.js';
import { findProcess, processEvidence } from './evidence/process.js';
import { lastValue, loadUnit } from './evidence/systemd.js';

/** Who the Barycenter process runs as (process.*). */

// ---- process.non-root --------------------------------------------------------------------

async function nonRoot(ctx: CheckContext): Promise<CheckOutcome> {
  const f = new Findings();
  if (ctx.deployment !== 'kubernetes') {
    const p = await findProcess(ctx);
    if (p.ok) {
      const [real, eff] = p.value.uids;
      const root = real === 0 || eff === 0;
      f.add(
        root ? 'fail' : 'pass',
        root ? `process ${p.value.pid} runs as root` : `process ${p.value.pid} runs as uid ${eff}`,
        processEvidence(p.value, 'Uid real/effective/saved/fs', p.value.uids.join(' '), 'non-zero'),
      );
    } else f.missing(`live process: ${p.reason}`);
  }
  if (usesUnit(ctx)) {
    const u = await loadUnit(ctx);
    if (u.ok) {
      const user = lastValue(u.value, 'User');
      const bad = user === undefined || user === 'root' || user === '0';
      f.add(bad ? 'fail' : 'pass', bad ? `unit runs as ${user ?? 'root (no User=)'}` : `unit sets User=${user}`, {
        source: `systemd unit ${u.value.files.join(' + ')} (User=)`,
        observed: user ?? '(unset: root)',
        expected: 'a dedicated non-root user',
      });
    } else f.missing(`systemd unit: ${u.reason}`);
  }
  if (usesDocker(ctx)) {
    const d = await loadDocker(ctx);
    // A Compose service without `user:` runs as the image's USER, which the file does not say.
    if (d.ok && d.source.startsWith('compose file') && d.value.Config?.User === undefined)
      f.missing(`${d.source}: no user is set, so the image's USER decides (set user: to judge it here)`);
    else if (d.ok) {
      const user = d.value.Config?.User ?? '';
      const name = user.split(':')[0]!;
      const bad = name === '' || name === 'root' || name === '0';
      f.add(
        bad ? 'fail' : 'pass',
        bad ? `container runs as ${name || 'root (Config.User empty)'}` : `container runs as ${user}`,
        {
          source: `${d.source} (Config.User)`,
          observed: user || '(empty: root)',
          expected: 'a non-root user (the image sets barycenter, uid 1000)',
        },
      );
    } else f.missing(`docker: ${d.reason}`);
  }
  if (usesKubernetes(ctx)) {
    const k = await loadKubernetes(ctx);
    if (k.ok) {
      const w = k.value.workload;
      const sc = effectiveSecurity(w.pod, w.container);
      const ok = sc.runAsNonRoot === true && sc.runAsUser !== 0;
      f.add(
        ok ? 'pass' : 'fail',
        ok ? `runAsNonRoot enforced (runAsUser ${sc.runAsUser ?? 'from image'})` : 'runAsNonRoot is not enforced',
        {
          source: `${w.ref} ${w.fieldPrefix}.securityContext / containers[${w.container.name}].securityContext`,
          observed: { runAsNonRoot: sc.runAsNonRoot, runAsUser: sc.runAsUser },
          expected: { runAsNonRoot: true, runAsUser: '≠ 0' },
        },
      );
    } else f.missing(`kubernetes: ${k.reason}`);
  }
  return f.outcome();
}

export const checks: CheckDefinition[] = [
  {
    id: 'process.non-root',
    section: 'process',
    title: 'Barycenter does not run as root',
    rationale:
      'A compromise of a root process is a compromise of the host; the checklist runs Barycenter as a dedicated user.',
    severity: 'high',
    remediation: {
      systemd:
        'Set User=barycenter and Group=barycenter in the unit (useradd -r -s /bin/false -d /var/lib/barycenter barycenter).',
      docker: "Keep the image's USER barycenter; remove any `user: root` / `--user 0` override.",
      kubernetes: 'Set securityContext.runAsNonRoot: true and runAsUser: 1000 (the chart default).',
      freebsd: 'Set barycenter_user=barycenter in rc.conf.',
      default: 'Run Barycenter under a dedicated unprivileged user.',
    },
    run: nonRoot,
  },
];
