import { readAtMost } from './bounded-read.js';
import { readFileSync } from 'node:fs';
import tls from 'node:tls';
import { Agent, request as undiciRequest, type Dispatcher } from 'undici';
import { redactText, redactUrl } from '../redact.js';

/**
 * The one HTTP client: undici with a per-request trust store, a body limit, a time limit and no
 * redirect following. undici's request() rather than fetch(): fetch refuses the "bad ports" of
 * browsers (1, 25, 6000, …), and an IdP or a probe target may listen on any of them. Every request honours BARYSAFE_CA_FILE (read per request, unlike
 * NODE_EXTRA_CA_CERTS, which Node reads only at start), so no caller can forget an internal CA.
 */

export const HTTP_TIMEOUT_MS = 10_000;
const MAX_BODY = 2 * 1024 * 1024;

/** Trust anchors: the system roots plus the PEM bundle named by BARYSAFE_CA_FILE, if any. */
export function trustedCas(env: NodeJS.ProcessEnv = process.env): string[] | undefined {
  const file = env.BARYSAFE_CA_FILE;
  if (!file) return undefined;
  return [...tls.rootCertificates, readFileSync(file, 'utf8')];
}

/**
 * Origins reached through a Unix socket instead of TCP: a drill's scratch instance listens in its
 * own network namespace, and only this process (through a socket in its private directory) can
 * reach it. The URL stays http://127.0.0.1:<port>, so callers need not know.
 */
const socketRoutes = new Map<string, Dispatcher>();

export function routeOriginThroughSocket(origin: string, socketPath: string): () => void {
  const agent = new Agent({ connect: { socketPath } });
  socketRoutes.set(new URL(origin).origin, agent);
  return () => {
    if (socketRoutes.get(new URL(origin).origin) === agent) socketRoutes.delete(new URL(origin).origin);
    void agent.close().catch(() => undefined);
  };
}

const agents = new Map<string, Dispatcher>();
function dispatcherFor(ca: string[] | undefined, url?: string): Dispatcher {
  if (url) {
    const routed = socketRoutes.get(new URL(url).origin);
    if (routed) return routed;
  }
  const key = ca ? ca.join('\n') : '';
  let a = agents.get(key);
  if (!a) {
    a = new Agent(ca ? { connect: { ca } } : {});
    agents.set(key, a);
  }
  return a;
}

export interface RequestOptions {
  method?: string;
  headers?: Record<string, string>;
  /** A string is sent as is; anything else as JSON. */
  body?: unknown;
  timeoutMs?: number;
}

export interface HttpAnswer {
  status: number;
  headers: Headers;
  text: string;
}

/** One request; throws when no answer arrived (refused, timed out, TLS rejected): see fetchFailure. */
export async function request(url: string, opts: RequestOptions = {}): Promise<HttpAnswer> {
  const timeoutMs = opts.timeoutMs ?? HTTP_TIMEOUT_MS;
  const json = opts.body !== undefined && typeof opts.body !== 'string';
  const signal = AbortSignal.timeout(timeoutMs);
  const r = await undiciRequest(url, {
    method: (opts.method ?? (opts.body === undefined ? 'GET' : 'POST')) as Dispatcher.HttpMethod,
    headers: { ...(json ? { 'content-type': 'application/json' } : {}), ...opts.headers },
    body: opts.body === undefined ? undefined : json ? JSON.stringify(opts.body) : (opts.body as string),
    signal,
    dispatcher: dispatcherFor(trustedCas(), url),
  });
  const headers = new Headers();
  for (const [k, v] of Object.entries(r.headers))
    for (const one of Array.isArray(v) ? v : [v]) if (one !== undefined) headers.append(k, one);
  return { status: r.statusCode, headers, text: await limitedText(r.body, signal) };
}

/** The body's first MAX_BODY bytes: the rest is not evidence of anything, so it is not read. */
async function limitedText(body: Dispatcher.ResponseData['body'], signal: AbortSignal): Promise<string> {
  return (await readAtMost(body, MAX_BODY, signal)).bytes.toString('utf8');
}

export function formPost(fields: Record<string, string>, headers: Record<string, string> = {}): RequestOptions {
  return {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(fields).toString(),
  };
}

/** Why a request failed, in words (e.g. "connect ECONNREFUSED 127.0.0.1:1"), redacted. */
export function fetchFailure(e: unknown): string {
  const err = e as { name?: string; message?: string; code?: string; cause?: { code?: string; message?: string } };
  if (err.name === 'TimeoutError' || err.name === 'AbortError') return 'timed out';
  return redactText(err.cause?.message || err.message || err.code || String(e));
}

export function parseJsonObject(text: string): Record<string, unknown> | undefined {
  try {
    const v = JSON.parse(text) as unknown;
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** A request reported as evidence: what was asked and what came back; never throws. */
export interface HttpFacts {
  url: string;
  method: string;
  status: number | null;
  contentType: string | null;
  /** Parsed JSON body when the answer is JSON. */
  json: unknown;
  /** Set when no answer arrived (refused, timed out, TLS rejected). */
  error: string | null;
}

export async function probe(url: string, opts: RequestOptions = {}): Promise<HttpFacts> {
  const method = opts.method ?? (opts.body === undefined ? 'GET' : 'POST');
  const facts: HttpFacts = {
    url: redactUrl(url),
    method,
    status: null,
    contentType: null,
    json: undefined,
    error: null,
  };
  try {
    new URL(url);
  } catch {
    return { ...facts, error: `not a URL: ${facts.url}` };
  }
  try {
    const r = await request(url, { ...opts, headers: { accept: 'application/json', ...opts.headers } });
    let json: unknown;
    try {
      json = JSON.parse(r.text);
    } catch {
      json = undefined;
    }
    return { ...facts, status: r.status, contentType: r.headers.get('content-type'), json };
  } catch (e) {
    const timedOut = ['TimeoutError', 'AbortError'].includes((e as { name?: string }).name ?? '');
    return { ...facts, error: timedOut ? `no answer within ${opts.timeoutMs ?? HTTP_TIMEOUT_MS} ms` : fetchFailure(e) };
  }
}
