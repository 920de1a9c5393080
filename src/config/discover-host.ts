import { existsSync } from 'node:fs';
import path from 'node:path';
import { listPids, readCmdline, readCwd, readEnviron } from '../platform/proc.js';
import { configArgument, type ServiceDefinition } from './service.js';
import { BARYCENTER_UNIT_FILES, execStartArgv, lastValue, readUnit } from './systemd-unit.js';

/**
 * What `barysafe init` can learn of Barycenter on this host before anyone types a path: the
 * systemd unit (ExecStart's binary and -c/--config, WorkingDirectory=, EnvironmentFile=, User=,
 * drop-ins included), then the running process (/proc/<pid>/cmdline and cwd) for what the unit
 * does not say, then the paths Barycenter's packages use. Each value says where it came from;
 * what could not be found says which setting to fill in.
 */
export interface Found {
  value: string;
  /** "ExecStart= of /etc/systemd/system/barycenter.service", "process 4242 (/proc/4242/cwd)", "default". */
  source: string;
  /** False when the path does not exist on this host (still written: it is what the service names). */
  exists?: boolean;
}

export interface Missing {
  /** The barysafe.toml setting to fill in ("barycenter.env_file", "drill"). */
  setting: string;
  reason: string;
}

export interface HostDiscovery {
  config: Found;
  workdir: Found;
  envFile?: Found;
  /** The binary the service runs (for drill.barycenter_bin). */
  bin?: Found;
  serviceUser?: Found;
  serviceGroup?: Found;
  /** The unit file read (for checks.systemd_unit). */
  unit?: string;
  missing: Missing[];
  /** Anything worth saying that is neither found nor missing (a second env file, a disagreement). */
  notes: string[];
}

export interface DiscoverOptions {
  /** The host tree to read ("/" by default): units and default paths are looked up, and written, under it. */
  root?: string;
  /** The procfs to scan for a running Barycenter; default /proc when root is "/", none otherwise. */
  proc?: string | null;
}

export const DEFAULT_CONFIG = '/etc/barycenter/config.toml';
export const DEFAULT_WORKDIR = '/var/lib/barycenter';

const INTERPRETERS = /^(node|nodejs|bash|sh|dash|python3?|perl)$/;

export async function discoverHost(opts: DiscoverOptions = {}): Promise<HostDiscovery> {
  const root = path.resolve(opts.root ?? '/');
  const at = (p: string) => (root === '/' ? p : path.join(root, p));
  const procDir = opts.proc === undefined ? (root === '/' ? '/proc' : null) : opts.proc;
  const missing: Missing[] = [];
  const notes: string[] = [];
  let config: Found | undefined;
  let workdir: Found | undefined;
  let envFile: Found | undefined;
  let bin: Found | undefined;
  let serviceUser: Found | undefined;
  let serviceGroup: Found | undefined;

  const unitFile = BARYCENTER_UNIT_FILES.map(at).find((f) => existsSync(f));
  if (unitFile) {
    try {
      const unit = await readUnit(unitFile, root);
      const where = unit.files.length > 1 ? `${unit.files[0]} + ${unit.files.slice(1).join(', ')}` : unit.files[0]!;
      const argv = execStartArgv(unit);
      const wd = lastValue(unit, 'WorkingDirectory')?.replace(/^-/, '');
      // "~" is the service user's home: not a path init can know.
      if (wd && wd !== '~') workdir = { value: at(wd), source: `WorkingDirectory= in ${where}` };
      if (argv) {
        bin = { value: path.isAbsolute(argv[0]!) ? at(argv[0]!) : argv[0]!, source: `ExecStart= in ${where}` };
        const arg = configArgument(service(argv, wd));
        const named = arg !== 'config.toml' || argv.slice(1).some((a) => /^(-c|--config)/.test(a));
        // A relative --config resolves against the service's working directory ("/" when unset).
        const file = path.isAbsolute(arg!) ? at(arg!) : path.join(at(wd && wd !== '~' ? wd : '/'), arg!);
        config = {
          value: file,
          source: named
            ? `--config in ExecStart= of ${where}`
            : `Barycenter's default config.toml in the unit's working directory (${where})`,
        };
      } else notes.push(`${where} has no ExecStart=`);
      const envFiles = (unit.service.get('EnvironmentFile') ?? []).map((v) => v.replace(/^-/, ''));
      if (envFiles.length) {
        envFile = { value: at(envFiles[0]!), source: `EnvironmentFile= in ${where}` };
        if (envFiles.length > 1)
          notes.push(
            `the unit reads more than one EnvironmentFile= (${envFiles.join(', ')}); barycenter.env_file holds the first`,
          );
      }
      const user = lastValue(unit, 'User');
      if (user) serviceUser = { value: user, source: `User= in ${where}` };
      const group = lastValue(unit, 'Group');
      if (group) serviceGroup = { value: group, source: `Group= in ${where}` };
    } catch (e) {
      notes.push(`cannot read ${unitFile}: ${(e as Error).message}`);
    }
  }

  if (procDir && (!config || !workdir || !bin)) {
    const p = await findBarycenterProcess(procDir);
    if (p) {
      const what = `process ${p.pid}`;
      if (!bin) bin = { value: p.bin, source: `${what} (${procDir}/${p.pid}/cmdline)` };
      if (p.cwd === undefined)
        notes.push(`cannot read ${procDir}/${p.pid}/cwd (${p.cwdError}): run init as root or as the service's user`);
      if (!workdir && p.cwd !== undefined) workdir = { value: p.cwd, source: `${what} (${procDir}/${p.pid}/cwd)` };
      if (!config && (p.cwd !== undefined || path.isAbsolute(p.config)))
        config = {
          value: path.resolve(p.cwd ?? '/', p.config),
          source: `${p.configNamed ? '--config' : "Barycenter's default config.toml"} of ${what} (${procDir}/${p.pid}/cmdline)`,
        };
      if (p.overrides === undefined)
        notes.push(
          `cannot read ${procDir}/${p.pid}/environ (root only): BARYCENTER__* variables the process runs with are unknown`,
        );
      else if (p.overrides.length && !envFile)
        missing.push({
          setting: 'barycenter.env_file',
          reason: `the running process has ${p.overrides.join(', ')} in its environment and no env file was found: put them in a KEY=VALUE file and pass --env-file`,
        });
    }
  }

  config ??= { value: at(DEFAULT_CONFIG), source: 'default: no systemd unit or process names one' };
  workdir ??= { value: at(DEFAULT_WORKDIR), source: 'default: no systemd unit or process names one' };
  config.exists = existsSync(config.value);
  workdir.exists = existsSync(workdir.value);
  if (!config.exists)
    missing.push({
      setting: 'barycenter.config',
      reason: `${config.value} does not exist: pass --barycenter-config FILE (Barycenter then runs on defaults and its environment)`,
    });
  if (!workdir.exists)
    missing.push({ setting: 'barycenter.workdir', reason: `${workdir.value} does not exist: pass --workdir DIR` });
  if (!envFile && !missing.some((m) => m.setting === 'barycenter.env_file'))
    missing.push({
      setting: 'barycenter.env_file',
      reason:
        'no EnvironmentFile= found: pass --env-file FILE if the service runs with BARYCENTER__* variables from one',
    });
  if (envFile) envFile.exists = existsSync(envFile.value);
  if (bin && path.isAbsolute(bin.value)) bin.exists = existsSync(bin.value);
  if (!bin)
    missing.push({
      setting: 'drill',
      reason:
        'no Barycenter binary found: set one of drill.barycenter_bin, drill.image or drill.command for restore --verify',
    });
  return {
    config,
    workdir,
    ...(envFile ? { envFile } : {}),
    ...(bin ? { bin } : {}),
    ...(serviceUser ? { serviceUser } : {}),
    ...(serviceGroup ? { serviceGroup } : {}),
    ...(unitFile ? { unit: unitFile } : {}),
    missing,
    notes,
  };
}

function service(argv: string[], workdir?: string): ServiceDefinition {
  return {
    kind: 'systemd',
    source: '',
    env: [],
    argv,
    argvHasBinary: true,
    ...(workdir ? { workdir } : {}),
    notes: [],
  };
}

interface RunningBarycenter {
  pid: number;
  bin: string;
  config: string;
  configNamed: boolean;
  cwd?: string;
  cwdError?: string;
  /** Names (never values) of the BARYCENTER__* variables; undefined when environ is unreadable. */
  overrides?: string[];
}

/**
 * The first process whose program is named barycenter: the binary itself, or a script of that
 * name run by an interpreter (argv[1]). Its -c/--config comes from the same parser as the unit's.
 */
export async function findBarycenterProcess(procDir = '/proc'): Promise<RunningBarycenter | undefined> {
  for (const pid of await listPids(procDir)) {
    if (pid === process.pid) continue;
    let argv: string[];
    try {
      argv = await readCmdline(pid, procDir);
    } catch {
      continue; // gone, or not ours to read
    }
    if (!argv.length) continue;
    const name = (a: string | undefined) => (a ? path.basename(a) : '');
    const direct = name(argv[0]) === 'barycenter';
    const scripted = !direct && INTERPRETERS.test(name(argv[0])) && name(argv[1]) === 'barycenter';
    if (!direct && !scripted) continue;
    const own = scripted ? argv.slice(1) : argv;
    const config = configArgument(service(own))!;
    const p: RunningBarycenter = {
      pid,
      bin: own[0]!,
      config,
      configNamed: own.slice(1).some((a) => /^(-c|--config)/.test(a)),
    };
    try {
      p.cwd = await readCwd(pid, procDir);
    } catch (e) {
      p.cwdError = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
    }
    try {
      p.overrides = Object.keys(await readEnviron(pid, procDir))
        .filter((k) => /^BARYCENTER__/i.test(k))
        .sort();
    } catch {
      // environ is readable by root and the owner only: say so, never guess.
    }
    return p;
  }
  return undefined;
}
