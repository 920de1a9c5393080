/**
 * The URL the public reaches Barycenter at: barysafe's `barycenter.public_url` override (for a
 * proxy in front), else Barycenter's own `server.public_base_url`; without trailing slashes.
 */
export function publicUrlOf(
  override: string | null | undefined,
  publicBaseUrl: string | null | undefined,
): string | null {
  const u = override ?? publicBaseUrl;
  return u ? u.replace(/\/+$/, '') : null;
}
