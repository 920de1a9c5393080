// Request/response helpers reproducing axum's extractor behaviour (415/422 texts, content types).
import type { IncomingMessage, ServerResponse } from 'node:http';

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: string,
    readonly contentType = 'text/plain; charset=utf-8',
  ) {
    super(body);
  }
}

export async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

const mime = (req: IncomingMessage) => (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();

/** axum::Form on POST: needs the urlencoded content type; `required` fields missing give 422. */
export async function readForm(req: IncomingMessage, required: string[] = []): Promise<Record<string, string>> {
  if (mime(req) !== 'application/x-www-form-urlencoded') {
    throw new HttpError(415, 'Form requests must have `Content-Type: application/x-www-form-urlencoded`');
  }
  const form = Object.fromEntries(new URLSearchParams(await readBody(req)));
  for (const f of required)
    if (form[f] === undefined) throw new HttpError(422, `Failed to deserialize form body: missing field \`${f}\``);
  return form;
}

export async function readJson(req: IncomingMessage): Promise<unknown> {
  const m = mime(req);
  if (!(m === 'application/json' || (m.startsWith('application/') && m.endsWith('+json')))) {
    throw new HttpError(415, 'Expected request with `Content-Type: application/json`');
  }
  const text = await readBody(req);
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new HttpError(400, `Failed to parse the request body as JSON: ${(e as Error).message}`);
  }
}

export function sendJson(
  res: ServerResponse,
  status: number,
  value: unknown,
  headers: Record<string, string> = {},
): void {
  const body = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers });
  res.end(body);
}

export function sendText(
  res: ServerResponse,
  status: number,
  body: string,
  contentType = 'text/plain; charset=utf-8',
): void {
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

export const sendHtml = (res: ServerResponse, status: number, html: string) =>
  sendText(res, status, html, 'text/html; charset=utf-8');

/** 307 for axum Redirect::temporary, 303 for explicit SEE_OTHER responses. */
export function redirect(
  res: ServerResponse,
  status: 303 | 307,
  location: string,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { location, 'content-length': 0, ...headers });
  res.end();
}

export function sessionIdFromCookie(req: IncomingMessage): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const p = part.trim();
    if (p.startsWith('barycenter_session=')) return p.slice('barycenter_session='.length);
  }
  return undefined;
}

/** serde_urlencoded encoding (spaces as '+'), used when building redirect query strings. */
export const formEncode = (pairs: [string, string][]) => new URLSearchParams(pairs).toString();

export function appendQuery(base: string, pairs: [string, string][]): string {
  return `${base}${base.includes('?') ? '&' : '?'}${formEncode(pairs)}`;
}

/** Barycenter's own `urlencoded` helper: percent-encodes everything except unreserved chars. */
export const pctEncode = (s: string) =>
  encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
