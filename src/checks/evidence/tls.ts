import { X509Certificate } from 'node:crypto';
import tls from 'node:tls';
import { errorText } from '../../errors.js';
import type { CheckContext } from '../types.js';
import { trustedCas } from '../../platform/http.js';

export interface TlsFacts {
  host: string;
  port: number;
  /** The chain verifies against the trust anchors and the name matches. */
  authorized: boolean;
  authorizationError: string | null;
  subject: string;
  issuer: string;
  subjectAltName: string | null;
  validFrom: string;
  validTo: string;
  /** Whole days until notAfter (negative once expired). */
  daysLeft: number;
  fingerprint256: string;
  protocol: string | null;
}

/** One real TLS handshake with the public host; the certificate is read whether or not it verifies. */
export function probeTls(ctx: CheckContext, host: string, port: number, timeoutMs = 10_000): Promise<TlsFacts> {
  return ctx.memo(`tls:${host}:${port}`, () => handshake(host, port, ctx.now, timeoutMs));
}

function handshake(host: string, port: number, now: Date, timeoutMs: number): Promise<TlsFacts> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect(
      {
        host,
        port,
        servername: isIp(host) ? undefined : host,
        ca: trustedCas(),
        rejectUnauthorized: false,
        timeout: timeoutMs,
      },
      () => {
        const raw = socket.getPeerX509Certificate?.() as X509Certificate | undefined;
        const authErr = socket.authorizationError ? String(socket.authorizationError) : null;
        const protocol = socket.getProtocol();
        socket.end();
        if (!raw) return reject(new Error(`${host}:${port} presented no certificate`));
        // Node checks the chain during the handshake but not the name when rejectUnauthorized is off.
        const nameError = tls.checkServerIdentity(host, raw.toLegacyObject());
        const validTo = new Date(raw.validTo);
        resolve({
          host,
          port,
          authorized: socket.authorized && !nameError,
          authorizationError: authErr ?? (nameError ? nameError.message : null),
          subject: raw.subject.replace(/\n/g, ', '),
          issuer: raw.issuer.replace(/\n/g, ', '),
          subjectAltName: raw.subjectAltName ?? null,
          validFrom: new Date(raw.validFrom).toISOString(),
          validTo: validTo.toISOString(),
          daysLeft: Math.floor((validTo.getTime() - now.getTime()) / 86_400_000),
          fingerprint256: raw.fingerprint256,
          protocol,
        });
      },
    );
    socket.on('timeout', () =>
      socket.destroy(new Error(`TLS handshake with ${host}:${port} timed out after ${timeoutMs} ms`)),
    );
    socket.on('error', (e) => reject(new Error(`TLS handshake with ${host}:${port} failed: ${errorText(e)}`)));
  });
}

function isIp(host: string): boolean {
  return /^[\d.]+$/.test(host) || host.includes(':');
}
