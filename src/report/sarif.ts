import type { CheckResult, Severity } from '../checks/types.js';
import type { CheckReport } from '../checks/report.js';
import { valueText } from './views.js';

/**
 * SARIF 2.1.0 for code-scanning UIs. Every check is a rule; every result is reported with its
 * SARIF kind (pass, fail, review for manual, notApplicable for skip, open for error) so the log
 * is a complete record, and waivers become external suppressions with their justification.
 */
const LEVEL: Record<Severity, 'error' | 'warning' | 'note'> = {
  critical: 'error',
  high: 'error',
  medium: 'warning',
  low: 'note',
};
const SECURITY_SEVERITY: Record<Severity, string> = { critical: '9.5', high: '7.5', medium: '5.0', low: '2.0' };

function kindOf(r: CheckResult): { kind: string; level: string } {
  const raw = r.status === 'waived' ? r.raw_status : r.status;
  switch (raw) {
    case 'pass':
      return { kind: 'pass', level: 'none' };
    case 'fail':
      return { kind: 'fail', level: LEVEL[r.severity] };
    case 'warn':
      return { kind: 'fail', level: 'warning' };
    case 'manual':
      return { kind: 'review', level: 'none' };
    case 'skip':
      return { kind: 'notApplicable', level: 'none' };
    default:
      return { kind: 'open', level: 'none' };
  }
}

/** A file the evidence names ("file:/etc/barycenter/config.toml (mode)") gives the result a location. */
function locations(r: CheckResult) {
  const files = [
    ...new Set(r.evidence.map((e) => /^file:([^\s(]+)/.exec(e.source)?.[1]).filter((f): f is string => !!f)),
  ];
  return files.map((f) => ({ physicalLocation: { artifactLocation: { uri: 'file://' + encodeURI(f) } } }));
}

export function renderSarif(report: CheckReport): string {
  const ids = [...new Set(report.results.map((r) => r.id))];
  const rules = ids.map((id) => {
    const r = report.results.find((x) => x.id === id)!;
    return {
      id,
      name: id.replace(/[.-](\w)/g, (_m, c: string) => c.toUpperCase()),
      shortDescription: { text: r.title },
      fullDescription: { text: r.rationale },
      help: { text: r.remediation || r.rationale },
      defaultConfiguration: { level: LEVEL[r.severity] },
      properties: {
        tags: ['barycenter', r.section],
        'security-severity': SECURITY_SEVERITY[r.severity],
        severity: r.severity,
      },
    };
  });
  const results = report.results.map((r) => {
    const { kind, level } = kindOf(r);
    const evidence = r.evidence.map((e) => ({
      source: e.source,
      observed: valueText(e.observed),
      expected: valueText(e.expected),
      note: e.note ?? '',
    }));
    return {
      ruleId: r.id,
      ruleIndex: ids.indexOf(r.id),
      kind,
      level,
      message: { text: r.remediation && kind === 'fail' ? `${r.summary}. Fix: ${r.remediation}` : r.summary },
      ...(locations(r).length ? { locations: locations(r) } : {}),
      ...(r.status === 'waived' && r.waiver
        ? {
            suppressions: [
              { kind: 'external', status: 'accepted', justification: `${r.waiver.reason} (until ${r.waiver.expires})` },
            ],
          }
        : {}),
      properties: { status: r.status, raw_status: r.raw_status, evidence },
    };
  });
  const log = {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'barysafe',
            version: report.tool.version,
            informationUri: 'https://github.com/CloudNebulaProject/barycenter',
            rules,
          },
        },
        invocations: [{ executionSuccessful: true, endTimeUtc: report.generated_at, machine: report.host }],
        properties: { deployment: report.deployment, issuer: report.barycenter.issuer, summary: report.summary },
        results,
      },
    ],
  };
  return JSON.stringify(log, null, 2) + '\n';
}
