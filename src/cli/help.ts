import type { Command } from 'commander';

/**
 * The help every command shares, kept beside each other so that no command file repeats it: the
 * job a command belongs to (the root help's groups) and its examples. Data only: `--version` and
 * a command's `--help` load this, not the command modules.
 */
export const HELP_GROUPS: Record<string, string[]> = {
  'Set up:': ['init', 'completion', 'demo'],
  'Back up:': ['backup', 'snapshots', 'keys', 'forget', 'copy'],
  'Restore and prove:': ['restore', 'verify'],
  'Check and report:': ['check', 'report', 'verify-report', 'evidence', 'verify-evidence'],
  'Run on a schedule:': ['agent'],
};

/** Examples per command path ("evidence sign" for a subcommand): each one a command line, then what it does. */
export const EXAMPLES: Record<string, [string, string][]> = {
  init: [
    ['barysafe init', 'find Barycenter from its systemd unit or process; write /etc/barysafe/barysafe.toml and keys'],
    ['barysafe init --dir ./etc --repository s3://bucket/barysafe', 'write ./etc/barysafe.toml with an S3 repository'],
    [
      'barysafe init --barycenter-config /srv/idp/config.toml --workdir /srv/idp',
      'name the paths instead of finding them',
    ],
  ],
  backup: [
    ['barysafe backup', 'one snapshot with the config init wrote'],
    ['barysafe --config /etc/barysafe/barysafe.toml --json backup', 'the same, reported as one JSON document'],
  ],
  snapshots: [
    ['barysafe snapshots', 'the table, oldest first'],
    ['barysafe --json snapshots', 'for scripts'],
  ],
  restore: [
    ['barysafe restore latest --to /srv/restore', 'key, jwks.json, SQLite file and config into /srv/restore'],
    [
      'barysafe restore latest --to /srv/restore --pg-url postgresql://localhost/barycenter_restore',
      'and the PostgreSQL dump into an empty database',
    ],
    ['barysafe restore latest --verify', 'a drill: a scratch instance proves the snapshot works'],
  ],
  check: [
    ['barysafe check', "the production checklist against this host's deployment"],
    ['barysafe check --format sarif --output check.sarif', 'for a CI code-scanning upload'],
    ['barysafe check --only backup,security --deployment systemd', 'two sections, the deployment named'],
  ],
  verify: [
    ['barysafe verify', 'signatures, chain, every object and age header (no bodies)'],
    ['barysafe verify --read-data-subset auto/30 --max-egress 2GiB', 'read, decrypt and parse the next slice'],
    ['barysafe verify --live', 'production serves a backed-up key, and only such keys'],
  ],
  keys: [
    ['barysafe keys', 'every signing key backed up, with its first and last snapshot'],
    ['barysafe keys --live', 'and whether production serves it now'],
  ],
  forget: [
    ['barysafe forget --keep-daily 14 --keep-weekly 8', 'a dry run: what this policy would remove'],
    ['barysafe forget --confirm', 'carry out the [retention] policy of barysafe.toml'],
  ],
  copy: [
    ['barysafe copy --to file:///mnt/offsite/barysafe', 'every snapshot, byte for byte, to a second repository'],
    ['barysafe copy --to s3://offsite/barysafe --to-endpoint https://s3.example.net', 'to another S3 store'],
  ],
  'verify-evidence': [
    ['barysafe verify-evidence', 'every run signed, no gap, no fork'],
    ['barysafe verify-evidence --since 90d --expect-head 120', 'list the last 90 days; record 120 must still be there'],
  ],
  evidence: [['barysafe evidence sign --key reviewer.pem 42', "a reviewer's countersignature on record 42"]],
  'evidence sign': [['barysafe evidence sign --key reviewer.pem 42', "a reviewer's countersignature on record 42"]],
  report: [
    ['barysafe report --since 90d --format html --output report.html', "the auditor's report, signed"],
    ['barysafe report --format markdown --output report.md --store', 'as Markdown, kept in the repository too'],
  ],
  'verify-report': [
    ['barysafe verify-report report.html', 'signature, file unchanged, every cited record present'],
    ['barysafe verify-report --key evidence.pub.pem report.html', 'without barysafe.toml'],
  ],
  agent: [
    ['barysafe agent', 'the daemon: jobs on [schedule], metrics and status page'],
    ['barysafe agent --once', 'every job due now, then exit (cron, systemd timers)'],
    ['barysafe agent --run-now backup', 'one job now'],
  ],
  demo: [['barysafe demo --dir ./barysafe-demo', 'a sample deployment, its config and one snapshot']],
  completion: [
    ['source <(barysafe completion bash)', 'complete commands, options and choices in this shell'],
    ['source <(barysafe completion zsh)', 'the same in zsh (after compinit)'],
  ],
};

function examplesText(examples: [string, string][]): string {
  return `\nExamples:\n${examples.map(([c, what]) => `  # ${what}\n  $ ${c}`).join('\n')}\n`;
}

/** Puts each registered command in its group and under its examples; shows the global options in every help. */
export function applyHelp(program: Command): void {
  const groupOf = new Map(Object.entries(HELP_GROUPS).flatMap(([g, names]) => names.map((n) => [n, g] as const)));
  const visit = (cmd: Command, prefix: string) => {
    for (const sub of cmd.commands) {
      const name = prefix ? `${prefix} ${sub.name()}` : sub.name();
      const group = prefix ? undefined : groupOf.get(name);
      if (group) sub.helpGroup(group);
      const examples = EXAMPLES[name];
      if (examples) sub.addHelpText('after', examplesText(examples));
      visit(sub, name);
    }
  };
  visit(program, '');
  program.addHelpText(
    'after',
    '\n`barysafe COMMAND --help` shows its options and examples. Start with `barysafe init` on the IdP host.\n',
  );
}
