import type { CheckContext, CheckDefinition, CheckOutcome } from '../types.js';
import { Findings } from '../evidence/combine.js';
import { serviceEnvironments } from '../evidence/environment.js';
import { redactText } from '../../redact.js';

/** security.skip-consent: the variable that turns off the OAuth consent screen. */

const SKIP_CONSENT = 'BARYCENTER_SKIP_CONSENT';

async function skipConsent(ctx: CheckContext): Promise<CheckOutcome> {
  const env = await serviceEnvironments(ctx);
  const f = new Findings();
  env.unavailable.forEach((r) => f.missing(r));
  for (const s of env.sources) {
    const present = SKIP_CONSENT in s.vars;
    f.add(
      present ? 'fail' : 'pass',
      present
        ? `${SKIP_CONSENT} is set in ${s.source}: consent is skipped for every client`
        : `${SKIP_CONSENT} absent from ${s.source}`,
      {
        source: s.source,
        observed: present ? `set (${JSON.stringify(redactText(s.vars[SKIP_CONSENT]!))})` : 'absent',
        expected: 'absent (any value, even "false" or "", disables consent)',
        note: s.notes.length ? s.notes.join('; ') : undefined,
      },
    );
  }
  return f.outcome();
}

export const checks: CheckDefinition[] = [
  {
    id: 'security.skip-consent',
    section: 'security',
    title: 'BARYCENTER_SKIP_CONSENT is not set',
    rationale:
      'Barycenter skips the OAuth consent screen when BARYCENTER_SKIP_CONSENT is set to any value, including "false".',
    severity: 'high',
    remediation: {
      systemd: 'Remove BARYCENTER_SKIP_CONSENT from Environment= and every EnvironmentFile=, then restart.',
      docker: 'Remove BARYCENTER_SKIP_CONSENT from the container environment (setting it to false is not enough).',
      kubernetes: 'Remove BARYCENTER_SKIP_CONSENT from env/envFrom of the Barycenter container.',
      default: 'Unset BARYCENTER_SKIP_CONSENT entirely (any value disables consent).',
    },
    run: skipConsent,
  },
];
