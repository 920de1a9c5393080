// clap-like parsing of `barycenter [-c|--config PATH] [sync-users -f|--file FILE]`.
// --config is not global: after the subcommand it is an error, as with the real binary.

export const VERSION = '0.2.0-beta.1';

export type Cli = { config: string; command: { name: 'sync-users'; file: string } | null };
export type CliOutcome = { kind: 'run'; cli: Cli } | { kind: 'exit'; code: number; stdout?: string; stderr?: string };

const USAGE = 'Usage: barycenter [OPTIONS] [COMMAND]';
const HELP = `OpenID Connect Identity Provider

${USAGE}

Commands:
  sync-users  Sync users from a JSON file (idempotent)
  help        Print this message or the help of the given subcommand(s)

Options:
  -c, --config <CONFIG>  Path to configuration file [default: config.toml]
  -h, --help             Print help
  -V, --version          Print version
`;
const SYNC_HELP = `Sync users from a JSON file (idempotent)

Usage: barycenter sync-users --file <FILE>

Options:
  -f, --file <FILE>  Path to JSON file containing users
  -h, --help         Print help
`;

const fail = (msg: string, usage = USAGE): CliOutcome => ({
  kind: 'exit',
  code: 2,
  stderr: `error: ${msg}\n\n${usage}\n\nFor more information, try '--help'.\n`,
});

/** Reads `-x V`, `-xV`, `--long V`, `--long=V`; undefined when argv[i] is not this option. */
function optionValue(
  argv: string[],
  i: number,
  short: string,
  long: string,
): { value?: string; next: number } | undefined {
  const a = argv[i]!;
  if (a === short || a === long) return { value: argv[i + 1], next: i + 2 };
  if (a.startsWith(`${long}=`)) return { value: a.slice(long.length + 1), next: i + 1 };
  if (a.startsWith(short) && a.length > 2 && !a.startsWith('--'))
    return { value: a.slice(2).replace(/^=/, ''), next: i + 1 };
  return undefined;
}

export function parseCli(argv: string[]): CliOutcome {
  let config = 'config.toml';
  let i = 0;
  while (i < argv.length) {
    const a = argv[i]!;
    if (a === '-h' || a === '--help') return { kind: 'exit', code: 0, stdout: HELP };
    if (a === '-V' || a === '--version') return { kind: 'exit', code: 0, stdout: `barycenter ${VERSION}\n` };
    const c = optionValue(argv, i, '-c', '--config');
    if (c) {
      if (c.value === undefined) return fail("a value is required for '--config <CONFIG>' but none was supplied");
      config = c.value;
      i = c.next;
      continue;
    }
    if (a === 'sync-users') return parseSyncUsers(argv.slice(i + 1), config);
    if (a === 'help') return { kind: 'exit', code: 0, stdout: HELP };
    if (a.startsWith('-')) return fail(`unexpected argument '${a}' found`);
    return fail(`unrecognized subcommand '${a}'`);
  }
  return { kind: 'run', cli: { config, command: null } };
}

function parseSyncUsers(argv: string[], config: string): CliOutcome {
  const usage = 'Usage: barycenter sync-users --file <FILE>';
  let file: string | undefined;
  let i = 0;
  while (i < argv.length) {
    const a = argv[i]!;
    if (a === '-h' || a === '--help') return { kind: 'exit', code: 0, stdout: SYNC_HELP };
    const f = optionValue(argv, i, '-f', '--file');
    if (f) {
      if (f.value === undefined) return fail("a value is required for '--file <FILE>' but none was supplied", usage);
      file = f.value;
      i = f.next;
      continue;
    }
    return fail(`unexpected argument '${a}' found`, usage);
  }
  if (file === undefined) return fail('the following required arguments were not provided:\n  --file <FILE>', usage);
  return { kind: 'run', cli: { config, command: { name: 'sync-users', file } } };
}
