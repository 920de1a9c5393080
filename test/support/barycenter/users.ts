// Users table operations: argon2id PHC hashes with argon2 0.5 defaults (m=19456, t=2, p=1).
import { hash, verify, Algorithm } from '@node-rs/argon2';
import type { Db, Row } from './db.js';
import { nowSecs, randomId } from './ids.js';

export interface User {
  subject: string;
  username: string;
  password_hash: string;
  email: string | null;
  email_verified: number;
  created_at: number;
  enabled: number;
  requires_2fa: number;
  passkey_enrolled_at: number | null;
}

const toUser = (r: Row): User => r as unknown as User;

export async function getUserByUsername(db: Db, username: string): Promise<User | undefined> {
  const r = await db.get('SELECT * FROM users WHERE username = ? LIMIT 1', [username]);
  return r && toUser(r);
}

export async function getUserBySubject(db: Db, subject: string): Promise<User | undefined> {
  const r = await db.get('SELECT * FROM users WHERE subject = ? LIMIT 1', [subject]);
  return r && toUser(r);
}

export async function createUser(db: Db, username: string, password: string, email: string | null): Promise<User> {
  const password_hash = await hash(password, {
    algorithm: Algorithm.Argon2id,
    memoryCost: 19456,
    timeCost: 2,
    parallelism: 1,
  });
  const user: User = {
    subject: randomId(),
    username,
    password_hash,
    email,
    email_verified: 0,
    created_at: nowSecs(),
    enabled: 1,
    requires_2fa: 0,
    passkey_enrolled_at: null,
  };
  await db.run(
    'INSERT INTO users (subject, username, password_hash, email, email_verified, created_at, enabled, requires_2fa, passkey_enrolled_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
    [user.subject, username, password_hash, email, 0, user.created_at, 1, 0, null],
  );
  return user;
}

export async function updateUser(db: Db, subject: string, enabled: boolean, email: string | null): Promise<void> {
  if (email !== null)
    await db.run('UPDATE users SET enabled = ?, email = ? WHERE subject = ?', [enabled ? 1 : 0, email, subject]);
  else await db.run('UPDATE users SET enabled = ? WHERE subject = ?', [enabled ? 1 : 0, subject]);
}

/** Subject on success; disabled users (enabled != 1) never verify. */
export async function verifyUserPassword(db: Db, username: string, password: string): Promise<string | undefined> {
  const u = await getUserByUsername(db, username);
  if (!u || Number(u.enabled) !== 1) return undefined;
  try {
    return (await verify(u.password_hash, password)) ? u.subject : undefined;
  } catch {
    return undefined;
  }
}

export async function setProperty(db: Db, owner: string, key: string, value: unknown): Promise<void> {
  const json = JSON.stringify(value);
  const now = nowSecs();
  await db.run(
    'INSERT INTO properties (owner, key, value, updated_at) VALUES (?, ?, ?, ?) ON CONFLICT (owner, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at',
    [owner, key, json, now],
  );
}

export async function getProperties(db: Db, owner: string): Promise<Map<string, unknown>> {
  const out = new Map<string, unknown>();
  for (const r of await db.all('SELECT key, value FROM properties WHERE owner = ?', [owner])) {
    try {
      out.set(String(r.key), JSON.parse(String(r.value)));
    } catch {
      /* skip undecodable values */
    }
  }
  return out;
}
