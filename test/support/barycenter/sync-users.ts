// `sync-users --file`: creates missing users, updates enabled/email of existing ones, never re-passwords.
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import type { Db } from './db.js';
import { FatalError } from './errors.js';
import { debug, info } from './log.js';
import { createUser, getUserByUsername, setProperty, updateUser } from './users.js';

const TARGET = 'barycenter::user_sync';

const UsersFile = z.object({
  users: z.array(
    z.object({
      username: z.string(),
      email: z.string().nullable().optional(),
      password: z.string(),
      enabled: z.boolean().default(true),
      email_verified: z.boolean().default(false), // accepted but ignored, as upstream
      properties: z.record(z.string(), z.unknown()).default({}),
    }),
  ),
});

export async function syncUsersFromFile(db: Db, file: string): Promise<void> {
  info(TARGET, `Loading users from ${file}`);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new FatalError(`Failed to read users file at '${file}': ${(e as Error).message}`);
  }
  let parsed: z.infer<typeof UsersFile>;
  try {
    parsed = UsersFile.parse(JSON.parse(text));
  } catch (e) {
    const why =
      e instanceof z.ZodError
        ? `invalid type: expected struct UsersFile (${e.issues[0]?.message})`
        : (e as Error).message;
    throw new FatalError(
      `Failed to parse users JSON file: ${why}\n\nExpected format:\n{\n  "users": [ { "username": "alice", "password": "...", "email": "...", "enabled": true } ]\n}`,
    );
  }
  info(TARGET, `Found ${parsed.users.length} user(s) in file`);
  let created = 0,
    updated = 0,
    unchanged = 0;
  for (const u of parsed.users) {
    const email = u.email ?? null;
    const existing = await getUserByUsername(db, u.username);
    let subject: string;
    if (!existing) {
      info(TARGET, `Creating user: ${u.username}`);
      const user = await createUser(db, u.username, u.password, email);
      if (!u.enabled) await updateUser(db, user.subject, false, null);
      subject = user.subject;
      created++;
    } else {
      subject = existing.subject;
      const enabledMatches = (Number(existing.enabled) === 1) === u.enabled;
      const emailMatches = existing.email === email;
      if (!enabledMatches || !emailMatches) {
        info(TARGET, `Updating user: ${u.username}`);
        await updateUser(db, existing.subject, u.enabled, emailMatches ? null : email);
        updated++;
      } else unchanged++;
    }
    for (const [k, v] of Object.entries(u.properties)) await setProperty(db, subject, k, v);
    if (Object.keys(u.properties).length)
      debug(TARGET, `Synced ${Object.keys(u.properties).length} properties for user ${u.username}`);
  }
  info(TARGET, `User sync complete: ${created} created, ${updated} updated, ${unchanged} unchanged`);
}
