import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';

export interface DrillUser {
  username: string;
  /** Random, used once against the scratch instance, never printed or recorded. */
  password: string;
}

/**
 * The drill's own user, added to the scratch database only, through `sync-users` before boot
 *. The file uses the object format sync-users requires (`{"users":[…]}`;
 * a bare array fails to parse). Mode 0600: it holds a plaintext password.
 */
export async function writeDrillUser(file: string): Promise<DrillUser> {
  const user: DrillUser = {
    username: `barysafe-drill-${randomBytes(4).toString('hex')}`,
    password: randomBytes(24).toString('base64url'),
  };
  const doc = {
    users: [
      { username: user.username, password: user.password, email: `${user.username}@drill.invalid`, enabled: true },
    ],
  };
  await writeFile(file, JSON.stringify(doc, null, 2) + '\n', { mode: 0o600 });
  return user;
}
