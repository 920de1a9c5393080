import { randomBytes, randomInt } from 'node:crypto';

/** storage::random_id: 24 random bytes, base64url unpadded (32 chars). */
export const randomId = () => randomBytes(24).toString('base64url');
/** jwks::random_kid: 16 random bytes, base64url unpadded (22 chars). */
export const randomKid = () => randomBytes(16).toString('base64url');

const USER_CODE_ALPHABET = 'BCDFGHJKLMNPQRSTVWXZ';
/** XXXX-XXXX from consonants only, like storage::generate_user_code. */
export function userCode(): string {
  let s = '';
  for (let i = 0; i < 8; i++) {
    if (i === 4) s += '-';
    s += USER_CODE_ALPHABET[randomInt(USER_CODE_ALPHABET.length)];
  }
  return s;
}

export const nowSecs = () => Math.floor(Date.now() / 1000);
