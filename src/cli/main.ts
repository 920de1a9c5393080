import { Command, CommanderError, Option } from 'commander';
import { VERSION } from '../version.js';
import { BarysafeError, ExitCode, errorDocument } from '../errors.js';
import { redactText } from '../redact.js';
import { installSignalHandlers } from '../platform/lifecycle.js';
import { applyHelp } from './help.js';

/**
 * Each command's module, loaded only when that command runs: together they pull in zod,
 * the AWS SDK's helpers, pg, jose, the check catalogue… (~0.3 s), which `--version` or one
 * command does not need. In the order `--help` lists them.
 */
const COMMANDS: Record<string, () => Promise<(program: Command) => unknown>> = {
  init: async () => (await import('./init.js')).registerInit,
  backup: async () => (await import('./backup.js')).registerBackup,
  snapshots: async () => (await import('./snapshots.js')).registerSnapshots,
  restore: async () => (await import('./restore.js')).registerRestore,
  check: async () => (await import('./check.js')).registerCheck,
  verify: async () => (await import('./verify.js')).registerVerify,
  keys: async () => (await import('./keys.js')).registerKeys,
  forget: async () => (await import('./forget.js')).registerForget,
  copy: async () => (await import('./copy.js')).registerCopy,
  'verify-evidence': async () => (await import('./verify-evidence.js')).registerVerifyEvidence,
  evidence: async () => (await import('./evidence.js')).registerEvidence,
  report: async () => (await import('./report.js')).registerReport,
  'verify-report': async () => (await import('./verify-report.js')).registerVerifyReport,
  agent: async () => (await import('./agent.js')).registerAgent,
  demo: async () => (await import('./demo.js')).registerDemo,
  completion: async () => (await import('./completion.js')).registerCompletion,
};

/**
 * Work a command can start before its modules load, on another core: the SQLite copy's thread
 * for a backup (copy-worker.ts). Only when one command is named, not for the program's --help.
 */
const PRESTART: Record<string, () => Promise<void>> = {
  backup: async () => (await import('../backup/sources/copy-worker.js')).prestartCopyWorker(),
};

/** Global options that take a value (so the value is not taken for a command name). */
const LOG_LEVELS = ['debug', 'info', 'warn', 'error'];

const GLOBAL_VALUE_OPTIONS = new Set(['--config', '--log-level']);

/** The command named on the command line, if any (after the global options). */
export function commandNamed(argv: readonly string[]): string | undefined {
  const args = argv.slice(2);
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--') return args[i + 1];
    if (GLOBAL_VALUE_OPTIONS.has(a)) i++;
    else if (!a.startsWith('-')) return a;
  }
  return undefined;
}

/**
 * The program with the command the arguments name registered, or every command when they name
 * none that exists (help, an unknown command and its suggestions), or none for a bare --version.
 */
export async function buildProgram(argv: readonly string[] = process.argv): Promise<Command> {
  const program = new Command('barysafe')
    .description(
      'Encrypted, signed backups, restore drills and production checks for the Barycenter OpenID Connect IdP',
    )
    .version(VERSION)
    .option(
      '--config <file>',
      'barysafe.toml (default: $BARYSAFE_CONFIG, then ./barysafe.toml, then /etc/barysafe/barysafe.toml)',
    )
    .option('--json', 'print one JSON document on stdout and nothing else there')
    .addOption(
      new Option('--log-level <level>', 'log level on stderr')
        .choices(LOG_LEVELS)
        .default(process.env.BARYSAFE_LOG_LEVEL ?? 'info'),
    )
    .showHelpAfterError('(barysafe --help lists the commands; barysafe COMMAND --help their options)')
    // Inherited by every command: its help lists --config, --json and --log-level too.
    .configureHelp({ showGlobalOptions: true })
    .enablePositionalOptions(false)
    // Before the commands are added, so that they inherit it: a usage mistake in any command is a
    // CommanderError for main() to report, never commander's own process.exit(1).
    .exitOverride();
  const named = commandNamed(argv);
  const versionOnly = named === undefined && argv.slice(2).some((a) => a === '--version' || a === '-V');
  // Completion describes every command, so it needs them all.
  const wanted =
    named !== undefined && named in COMMANDS && named !== 'completion'
      ? [named]
      : versionOnly
        ? []
        : Object.keys(COMMANDS);
  if (wanted.length === 1) await PRESTART[wanted[0]!]?.();
  for (const register of await Promise.all(wanted.map((c) => COMMANDS[c]!()))) register(program);
  applyHelp(program);
  return program;
}

export async function main(argv: string[]): Promise<void> {
  // The lockfile pins AWS SDK releases that support Node 20; their upgrade notice is noise on stderr.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  installSignalHandlers();
  // A reader that stops early (`barysafe … | head`) closes the pipe: that ends the output, quietly,
  // as for any Unix tool, instead of an unhandled EPIPE and its stack trace.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw e;
  });
  const program = await buildProgram(argv);
  try {
    await program.parseAsync(argv);
  } catch (e) {
    if (e instanceof CommanderError) {
      // --help and --version end here too (exit 0); every other one is a usage mistake (exit 2),
      // reported like every other failure: commander already wrote the message on stderr.
      if (e.exitCode === 0) return;
      if (argv.includes('--json'))
        process.stdout.write(
          JSON.stringify(
            errorDocument(new BarysafeError('usage', e.message.replace(/^error: /, ''), { exitCode: ExitCode.USAGE })),
            null,
            2,
          ) + '\n',
        );
      process.exitCode = ExitCode.USAGE;
      return;
    }
    // Every command wraps its action; this is the net for anything that escapes (a bug).
    process.stderr.write(`barysafe: internal error: ${redactText(e instanceof Error ? e.message : String(e))}\n`);
    process.exitCode = ExitCode.INTERNAL;
  }
}
