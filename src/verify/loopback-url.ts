/**
 * Maps a URL the scratch instance announces (under its issuer, http://localhost:<port>) to the
 * loopback address the drill talks to. Anything not under the scratch issuer is refused: a
 * discovery document pointing elsewhere (production!) is never followed.
 */
export function toLoopback(announced: unknown, issuer: string, baseUrl: string): string | undefined {
  if (typeof announced !== 'string' || !announced.startsWith(issuer + '/')) return undefined;
  return baseUrl + announced.slice(issuer.length);
}
