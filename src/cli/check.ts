import { lstat } from 'node:fs/promises';
import path from 'node:path';
import { writeFileReplacing } from '../platform/safe-fs.js';
import { Command, Option } from 'commander';
import { BarysafeError, ExitCode } from '../errors.js';
import { loadConfig, configPathFrom } from '../config/load.js';
import { action } from './common.js';
import type { CheckDefinition, DeploymentType } from '../checks/types.js';
import type { CheckReport } from '../checks/report.js';
import { REPORT_FORMATS, renderReport, type ReportFormat } from '../report/index.js';
import { recordCheckRun, type CheckEvidence } from '../report/check-record.js';

export interface CheckCommandOptions {
  config?: string;
  json?: boolean;
  format?: ReportFormat;
  output?: string;
  list?: boolean;
  /** Ids or section names, comma-separated on the command line. */
  only?: string[];
  deployment?: DeploymentType;
  /** Colour the text report (the CLI passes stdout.isTTY). */
  colour?: boolean;
  now?: Date;
  /** Replaces the catalogue (tests). */
  definitions?: CheckDefinition[];
  /** Store the report and append the run to the evidence chain (the CLI does, unless --no-evidence). */
  record?: boolean;
}

export interface CheckCommandResult {
  report?: CheckReport;
  exitCode: number;
  /** What goes to stdout. */
  output: string;
  evidence?: CheckEvidence;
}

const DEPLOYMENTS: DeploymentType[] = ['systemd', 'docker', 'kubernetes', 'freebsd', 'illumos', 'plain'];

export async function runCheckCommand(opts: CheckCommandOptions): Promise<CheckCommandResult> {
  // The catalogue pulls in every evidence module (~1 s to load): only `check` pays for it.
  const { runCheckReport, selectFromCatalogue } = await import('../checks/run.js');
  const format: ReportFormat = opts.json ? 'json' : (opts.format ?? 'text');
  const selection = selectFromCatalogue(opts.list ? undefined : opts.only, opts.definitions);
  if (opts.list) return { exitCode: ExitCode.OK, output: listCatalogue(selection.all, opts.json === true) };

  const loaded = await loadConfig(configPathFrom(opts.config));
  // The run's clock: --now pins it (tests, reproducible reports); the record's end is start + elapsed.
  const started = opts.now ?? new Date();
  const t0 = performance.now();
  const report = await runCheckReport(loaded, { selection, deployment: opts.deployment, now: started });
  const finished = new Date(started.getTime() + Math.round(performance.now() - t0));
  const evidence = opts.record ? await recordCheckRun(loaded.config, report, started, finished) : undefined;
  const rendered = renderReport(report, format, { colour: opts.colour && !opts.output });
  if (opts.output) {
    await writeReport(opts.output, rendered);
    const line = `${report.summary.total} checks written to ${opts.output} (${format}); exit code ${report.exit_code}\n`;
    return { report, exitCode: report.exit_code, output: opts.json ? renderReport(report, 'json') : line, evidence };
  }
  return { report, exitCode: report.exit_code, output: rendered, evidence };
}

function listCatalogue(defs: CheckDefinition[], json: boolean): string {
  if (json)
    return (
      JSON.stringify(
        defs.map((d) => ({
          id: d.id,
          section: d.section,
          severity: d.severity,
          title: d.title,
          rationale: d.rationale,
        })),
        null,
        2,
      ) + '\n'
    );
  const w = Math.max(...defs.map((d) => d.id.length), 2);
  return defs.map((d) => `${d.id.padEnd(w)}  ${d.severity.padEnd(8)}  ${d.title}`).join('\n') + '\n';
}

/**
 * Writes the report to a new file (O_EXCL, 0640) and renames it over FILE: an existing file is
 * replaced, never written into, so its owner or its mode cannot expose the report. A symlink at
 * FILE is refused (it names another place than the operator typed).
 */
async function writeReport(file: string, text: string): Promise<void> {
  const st = await lstat(file).catch(() => null);
  if (st?.isSymbolicLink())
    throw new BarysafeError('usage', `refusing to write the report through the symlink ${file}`, {
      exitCode: ExitCode.USAGE,
    });
  if (st?.isDirectory())
    throw new BarysafeError('usage', `--output ${file} is a directory`, { exitCode: ExitCode.USAGE });
  try {
    await writeFileReplacing(file, text, 0o640);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new BarysafeError('usage', `cannot write the report to ${file}: ${code ?? String(e)}`, {
      exitCode: ExitCode.USAGE,
      hint: code === 'ENOENT' ? `the directory ${path.dirname(file)} does not exist` : 'choose a path you can write to',
      cause: e,
    });
  }
}

export function registerCheck(program: Command, deps: { stdout?: NodeJS.WriteStream } = {}): Command {
  const stdout = deps.stdout ?? process.stdout;
  return program
    .command('check')
    .description("run Barycenter's production checklist against this deployment, with evidence")
    .addOption(new Option('--format <format>', 'report format').choices([...REPORT_FORMATS]).default('text'))
    .option('--output <file>', 'write the report to FILE instead of stdout')
    .option('--list', 'print the check catalogue and exit')
    .option('--only <ids>', 'run only these check ids or sections (comma-separated)', (v: string) =>
      v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    )
    .addOption(new Option('--deployment <type>', 'deployment type instead of detecting it').choices(DEPLOYMENTS))
    .option('--no-evidence', 'do not store the report and record the run in the evidence chain')
    .action(
      action(async (_opts: unknown, cmd: Command) => {
        const o = cmd.optsWithGlobals<{
          config?: string;
          json?: boolean;
          format: ReportFormat;
          output?: string;
          list?: boolean;
          only?: string[];
          deployment?: DeploymentType;
          evidence: boolean;
        }>();
        const res = await runCheckCommand({
          ...o,
          record: o.evidence !== false,
          colour: stdout.isTTY === true && !process.env.NO_COLOR,
        });
        stdout.write(res.output);
        // The report on stdout is the check's result; the evidence is reported beside it, on stderr.
        if (res.evidence && 'error' in res.evidence)
          process.stderr.write(
            `barysafe: warning: this check run is not in the evidence chain: ${res.evidence.error}\n`,
          );
        return res.exitCode;
      }),
    );
}
