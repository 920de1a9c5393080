/**
 * Secrets must never reach a log line, manifest, report or error message. These helpers are the
 * one place that knows how to strip them; every path that prints something external goes through
 * them (URLs, JWKs, free text that may embed a connection string).
 */

/** Replaces the password of any URL (postgres://u:pw@h/db → postgres://u:***@h/db) and secret query params. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    for (const k of [...u.searchParams.keys()]) {
      if (/pass|secret|token|key|sig|credential/i.test(k)) u.searchParams.set(k, '***');
    }
    return u.toString();
  } catch {
    return redactText(url);
  }
}

const URL_WITH_PASSWORD = /\b([a-z][a-z0-9+.-]*:\/\/[^\s:/@'"]*):([^\s@'"]*)@/gi;
const AGE_SECRET = /AGE-SECRET-KEY-(?:PQ-)?1[0-9A-Z]+/g;
const PEM_PRIVATE = /-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----/g;
const JWK_PRIVATE_MEMBER = /("(?:d|p|q|dp|dq|qi|k)"\s*:\s*)"[^"]*"/g;
// key=value (URLs, env lines, CLI args) and "key": "value" (JSON); not "key: word" prose such
// as "drill step token: pass", which is not a secret.
const KV_SECRET = /\b(password|passwd|pwd|secret|token|service_token)(\s*=\s*)("[^"]*"|'[^']*'|[^\s,;&]+)/gi;
const JSON_SECRET =
  /("(?:password|passwd|secret|client_secret|token|access_token|refresh_token|id_token|service_token)"\s*:\s*)"[^"]*"/gi;

/** Scrubs anything that looks like a secret out of free text (error messages from libraries, child stderr). */
export function redactText(text: string): string {
  return text
    .replace(URL_WITH_PASSWORD, '$1:***@')
    .replace(AGE_SECRET, 'AGE-SECRET-KEY-***')
    .replace(PEM_PRIVATE, '-----PRIVATE KEY REDACTED-----')
    .replace(JWK_PRIVATE_MEMBER, '$1"***"')
    .replace(KV_SECRET, '$1$2***')
    .replace(JSON_SECRET, '$1"***"');
}

/** The private members of an RSA/EC/oct JWK (RFC 7518 §6). */
export const JWK_PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'] as const;
