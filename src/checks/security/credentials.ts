import { verify as argon2Verify } from '@node-rs/argon2';
import type { CheckDefinition, Evidence } from '../types.js';
import { unreadable } from '../evidence/combine.js';
import { readRows } from '../evidence/database.js';

/** security.* checks that try known passwords against the stored Argon2 hashes. */

/** Argon2 verification of a stored PHC hash; a hash that is not PHC simply does not match. */
async function hashMatches(hash: string, password: string): Promise<boolean> {
  try {
    return await argon2Verify(hash, password);
  } catch {
    return false;
  }
}

const defaultAdminPassword: CheckDefinition = {
  id: 'security.default-admin-password',
  section: 'security',
  title: 'admin / password123 does not log in',
  rationale:
    'Barycenter creates admin/password123 at every start when no user named admin exists (not only on an empty table) and logs it at info; sync-users never changes an existing password.',
  severity: 'critical',
  remediation: {
    default:
      'Give admin a strong password (a users.json sync does not change existing passwords: update users.password_hash with an Argon2id PHC hash) or set enabled = 0. Do not delete the row: it comes back with password123 at the next start.',
  },
  async run(ctx) {
    const r = await readRows(ctx, 'users', (db) => db.users());
    if (!r.ok) return unreadable(r);
    const admin = r.value.find((u) => u.username === 'admin');
    const evidence: Evidence[] = [
      {
        source: `${r.source} users WHERE username = 'admin' (argon2 verify of the stored hash)`,
        expected: 'password123 does not verify',
      },
    ];
    if (!admin) {
      evidence[0]!.observed = 'no admin row';
      return {
        status: 'fail',
        summary: 'there is no admin user: Barycenter will create admin/password123 at its next start',
        evidence,
      };
    }
    const weak = await hashMatches(admin.password_hash, 'password123');
    evidence[0]!.observed = { password123_verifies: weak, enabled: admin.enabled };
    if (weak && admin.enabled)
      return { status: 'fail', summary: 'admin logs in with the default password password123', evidence };
    if (weak)
      return {
        status: 'warn',
        summary: 'admin is disabled but still has the default password password123: enabling it re-opens the account',
        evidence,
      };
    return {
      status: 'pass',
      summary: `admin's stored hash does not verify against password123${admin.enabled ? '' : ' (and admin is disabled)'}`,
      evidence,
    };
  },
};

/** Example credentials Barycenter ships (users.json.example; Helm examples/user-sync-secret.yaml). */
export const DEMO_CREDENTIALS: Array<{ username: string; password: string; origin: string }> = [
  { username: 'admin', password: 'change-me-in-production', origin: 'users.json.example' },
  { username: 'alice', password: 'alice-secure-password', origin: 'users.json.example, Helm example secret' },
  { username: 'bob', password: 'bob-secure-password', origin: 'users.json.example' },
  { username: 'charlie', password: 'charlie-secure-password', origin: 'users.json.example' },
  { username: 'admin', password: 'CHANGE-ME-IN-PRODUCTION', origin: 'Helm example secret' },
  { username: 'service-account', password: 'service-account-password', origin: 'Helm example secret' },
];

const demoUsers: CheckDefinition = {
  id: 'security.demo-users',
  section: 'security',
  title: 'No user from the shipped examples keeps its example password',
  rationale:
    'users.json.example and the Helm example secret ship users with published passwords; copying an example file into production creates accounts anyone can log into.',
  severity: 'critical',
  remediation: {
    default:
      'Change the passwords of the listed users (sync-users does not update passwords: write a new Argon2id hash) or disable/delete them, then remove the example users from users.json.',
    kubernetes:
      'Remove the example users from the userSync secret, then change or disable them in the database (the init container never re-passwords existing users).',
  },
  async run(ctx) {
    const r = await readRows(ctx, 'users', (db) => db.users());
    if (!r.ok) return unreadable(r);
    const hits: Array<{ username: string; enabled: boolean; example_from: string }> = [];
    const tried: string[] = [];
    for (const cred of DEMO_CREDENTIALS) {
      const user = r.value.find((u) => u.username === cred.username);
      if (!user) continue;
      tried.push(`${cred.username} (${cred.origin})`);
      if (await hashMatches(user.password_hash, cred.password))
        hits.push({ username: user.username, enabled: user.enabled, example_from: cred.origin });
    }
    const evidence: Evidence[] = [
      {
        source: `${r.source} users (argon2 verify against the example passwords)`,
        observed: { example_usernames_present: tried, example_password_matches: hits },
        expected: 'no match',
      },
    ];
    const live = hits.filter((h) => h.enabled);
    if (live.length)
      return {
        status: 'fail',
        summary: `${live.map((h) => h.username).join(', ')} log(s) in with the example password from ${live[0]!.example_from}`,
        evidence,
      };
    if (hits.length)
      return {
        status: 'warn',
        summary: `disabled user(s) ${hits.map((h) => h.username).join(', ')} keep their example password`,
        evidence,
      };
    return {
      status: 'pass',
      summary: tried.length
        ? `example usernames exist (${tried.length}) but none keeps its example password`
        : 'no user from the shipped examples exists',
      evidence,
    };
  },
};

export const checks: CheckDefinition[] = [defaultAdminPassword, demoUsers];
