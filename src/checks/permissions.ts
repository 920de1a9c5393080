import type { CheckContext, CheckDefinition, CheckOutcome, Evidence } from './types.js';
import { type FileFacts, nameOfGid, nameOfUid, octal, statFile } from './evidence/filesystem.js';
import { dataDirOf, serviceGid, serviceIdentity } from './evidence/identity.js';

/** Real modes and owners of the key, the config and the data directory (stat(2), no guessing). */

async function fileEvidence(f: FileFacts, expected: string): Promise<Evidence> {
  return {
    source: `file:${f.path} (stat mode, owner)`,
    observed: `${octal(f.mode)} ${await nameOfUid(f.uid)}(${f.uid}):${await nameOfGid(f.gid)}(${f.gid})`,
    expected,
  };
}

function unreachable(ctx: CheckContext, p: string, error: string): CheckOutcome {
  const inContainer = ctx.deployment === 'docker' || ctx.deployment === 'kubernetes';
  return {
    status: 'error',
    summary: `cannot stat ${p}: ${error}${inContainer ? ' (a container path is not visible from this host; run barysafe inside the container or pod)' : ''}`,
    evidence: [{ source: `file:${p}`, observed: error }],
  };
}

// ---- permissions.private-key -------------------------------------------------------------

async function privateKey(ctx: CheckContext): Promise<CheckOutcome> {
  const stat = await statFile(ctx.barycenter.privateKeyPath);
  if (!stat.ok) return unreachable(ctx, ctx.barycenter.privateKeyPath, stat.reason);
  const st = stat.value;
  const id = await serviceIdentity(ctx);
  const ev = await fileEvidence(
    st,
    `0600 owned by ${id.ok ? `${id.value.name ?? id.value.uid}(${id.value.uid})` : 'the service user'}`,
  );
  const problems: string[] = [];
  if ((st.mode & 0o077) !== 0) problems.push(`mode ${octal(st.mode)} lets group/other read the signing key`);
  if ((st.mode & 0o400) === 0) problems.push(`mode ${octal(st.mode)} denies the owner read access`);
  if (id.ok && st.uid !== id.value.uid) problems.push(`owned by uid ${st.uid}, not the service user ${id.value.uid}`);
  return ownedVerdict(problems, id, st, ev, [{ source: 'service user', observed: id.ok ? id.value.source : '' }]);
}

// ---- permissions.config ------------------------------------------------------------------

async function configFile(ctx: CheckContext): Promise<CheckOutcome> {
  const file = ctx.barycenter.configPath;
  const stat = await statFile(file);
  if (!stat.ok) {
    const note = stat.reason === 'does not exist' ? ' (Barycenter then silently runs on defaults)' : '';
    return { ...unreachable(ctx, file, stat.reason), summary: `cannot stat ${file}: ${stat.reason}${note}` };
  }
  const st = stat.value;
  const id = await serviceIdentity(ctx);
  const group = await serviceGid(ctx, id);
  const ev = await fileEvidence(st, `0640 root:${group ? await nameOfGid(group.gid) : 'service group'}`);
  const problems: string[] = [];
  if (st.uid !== 0)
    problems.push(
      `owned by ${await nameOfUid(st.uid)}, not root${id.ok && st.uid === id.value.uid ? ' (the service could rewrite its own config)' : ''}`,
    );
  if ((st.mode & 0o007) !== 0)
    problems.push(`mode ${octal(st.mode)} is readable by others (it may hold the DB password)`);
  if ((st.mode & 0o020) !== 0) problems.push(`mode ${octal(st.mode)} is group-writable`);
  if ((st.mode & 0o040) === 0)
    problems.push(`mode ${octal(st.mode)} gives the group no read access: the service cannot read it`);
  if (group && st.gid !== group.gid)
    problems.push(`group ${await nameOfGid(st.gid)} is not the service group ${await nameOfGid(group.gid)}`);
  if (problems.length) return { status: 'fail', summary: problems.join('; '), evidence: [ev] };
  if (!group)
    return {
      status: 'error',
      summary: `mode ${octal(st.mode)} root-owned, but the service group is unknown: ${id.ok ? 'unresolvable group' : id.reason}`,
      evidence: [ev],
    };
  return {
    status: 'pass',
    summary: `${st.path} is ${octal(st.mode)} root:${await nameOfGid(st.gid)}`,
    evidence: [ev, { source: 'service group', observed: group.source }],
  };
}

// ---- permissions.data-dir ----------------------------------------------------------------

async function dataDir(ctx: CheckContext): Promise<CheckOutcome> {
  const stat = await statFile(dataDirOf(ctx));
  if (!stat.ok) return unreachable(ctx, dataDirOf(ctx), stat.reason);
  const st = stat.value;
  const id = await serviceIdentity(ctx);
  const ev = await fileEvidence(st, `0750 owned by ${id.ok ? (id.value.name ?? id.value.uid) : 'the service user'}`);
  const problems: string[] = [];
  if ((st.mode & 0o007) !== 0) problems.push(`mode ${octal(st.mode)} opens the data directory to others`);
  if ((st.mode & 0o020) !== 0) problems.push(`mode ${octal(st.mode)} is group-writable`);
  if ((st.mode & 0o700) !== 0o700) problems.push(`mode ${octal(st.mode)} denies the owner full access`);
  if (id.ok && st.uid !== id.value.uid) problems.push(`owned by ${await nameOfUid(st.uid)}, not the service user`);
  return ownedVerdict(problems, id, st, ev);
}

/**
 * A file or directory that must belong to the service user: any mode or owner problem fails; with
 * a sound mode but no known service user the owner cannot be judged (error, never a pass).
 */
function ownedVerdict(
  problems: string[],
  id: Awaited<ReturnType<typeof serviceIdentity>>,
  st: { path: string; mode: number },
  ev: Evidence,
  passEvidence: Evidence[] = [],
): CheckOutcome {
  if (problems.length) return { status: 'fail', summary: problems.join('; '), evidence: [ev] };
  if (!id.ok)
    return {
      status: 'error',
      summary: `mode ${octal(st.mode)} is fine but the owner cannot be judged: ${id.reason}`,
      evidence: [ev],
    };
  return {
    status: 'pass',
    summary: `${st.path} is ${octal(st.mode)} owned by the service user`,
    evidence: [ev, ...passEvidence],
  };
}

export const checks: CheckDefinition[] = [
  {
    id: 'permissions.private-key',
    section: 'permissions',
    title: 'Signing key is mode 600, owned by the service user',
    rationale:
      'Barycenter writes the key with the process umask (often 0644); anyone who reads it can mint tokens for every client.',
    severity: 'critical',
    remediation: {
      systemd:
        'chown barycenter:barycenter /var/lib/barycenter/data/private_key.pem && chmod 600 it; add UMask=0077 to the unit.',
      docker: 'Inside the container: chmod 600 /app/data/private_key.pem (owner barycenter).',
      kubernetes: 'Run a one-off pod on the PVC to chmod 600 /app/data/private_key.pem.',
      default: 'chown <service user> <key> && chmod 600 <key>.',
    },
    run: privateKey,
  },
  {
    id: 'permissions.config',
    section: 'permissions',
    title: 'Config is mode 640, owner root, group of the service',
    rationale: 'The config may hold the database password; the service must read it but not change it.',
    severity: 'high',
    remediation: {
      systemd: 'chown root:barycenter /etc/barycenter/config.toml && chmod 640 /etc/barycenter/config.toml.',
      kubernetes: 'The chart mounts a ConfigMap read-only; keep secrets out of it (use a Secret).',
      default: 'chown root:<service group> <config> && chmod 640 <config>.',
    },
    run: configFile,
  },
  {
    id: 'permissions.data-dir',
    section: 'permissions',
    title: 'Data directory is mode 750',
    rationale:
      'The data directory holds the signing key and often the SQLite database; other users must not list or enter it.',
    severity: 'high',
    remediation: {
      systemd: 'chown barycenter:barycenter /var/lib/barycenter/data && chmod 750 it.',
      default: 'chown <service user> <data dir> && chmod 750 <data dir>.',
    },
    run: dataDir,
  },
];
