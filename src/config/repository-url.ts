/**
 * A repository URL with its scheme in lower case (URL schemes are case-insensitive, RFC 3986 §3.1):
 * FILE:///srv/x and file:///srv/x are one repository, and everything that compares, anchors or
 * resolves repository URLs sees the second form.
 */
export function canonicalRepositoryUrl(url: string): string {
  return url.replace(/^[A-Za-z][A-Za-z0-9+.-]*:/, (scheme) => scheme.toLowerCase());
}
