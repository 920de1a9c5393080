import type { CheckDefinition, Evidence } from './types.js';
import { unreadable } from './evidence/combine.js';
import { readRows, type ClientRow } from './evidence/database.js';

/** Names and URIs that suggest a client registered for testing (dynamic registration is always open). */
const TEST_LOOKING =
  /\b(test|testing|demo|example|sample|dummy|foo|bar|tmp|temp|debug|localhost|playground)\b|127\.0\.0\.1|\[::1\]|\.(test|example|invalid|local)\b/i;

function testHints(c: ClientRow): string[] {
  const hints: string[] = [];
  if (c.client_name && TEST_LOOKING.test(c.client_name)) hints.push(`name "${c.client_name}"`);
  for (const u of c.redirect_uris) if (TEST_LOOKING.test(u)) hints.push(`redirect URI ${u}`);
  return hints;
}

const review: CheckDefinition = {
  id: 'clients.review',
  section: 'clients',
  title: 'Registered clients are listed for review; test-looking ones are flagged',
  rationale:
    'Client registration (/connect/register) and device authorization auto-registration are always open and unauthenticated, so clients accumulate that nobody owns.',
  severity: 'medium',
  remediation: {
    default:
      'Review each client with its owner; delete unknown or test clients from the clients table (there is no admin API to delete them) and restrict /connect/register at the proxy.',
  },
  async run(ctx) {
    const r = await readRows(ctx, 'clients', (db) => db.clients());
    if (!r.ok) return unreadable(r);
    const { value: clients, source } = r;
    if (clients.length === 0)
      return {
        status: 'pass',
        summary: 'no client is registered',
        evidence: [{ source: `${source} clients`, observed: 0 }],
      };
    // client_secret is never selected: the list is safe to hand to a reviewer.
    const listed = clients.map((c) => {
      const hints = testHints(c);
      return {
        client_id: c.client_id,
        client_name: c.client_name,
        redirect_uris:
          c.redirect_uris_raw !== undefined ? `(not a JSON array: ${c.redirect_uris_raw})` : c.redirect_uris,
        created_at: c.created_at === null ? null : new Date(c.created_at * 1000).toISOString(),
        ...(c.redirect_uris.length === 0 && c.redirect_uris_raw === undefined
          ? { note: 'no redirect URI: auto-registered by /device_authorization' }
          : {}),
        ...(hints.length ? { flagged: `looks like a test client (${hints.join(', ')})` } : {}),
      };
    });
    const flagged = listed.filter((c) => 'flagged' in c).length;
    const evidence: Evidence[] = [
      {
        source: `${source} clients (client_secret not read)`,
        observed: listed,
        expected: 'every client known and owned',
      },
    ];
    return {
      status: 'manual',
      summary: `${clients.length} client(s) to review${flagged ? `, ${flagged} flagged as test-looking` : ''}`,
      evidence,
    };
  },
};

/** RFC 8252 §7.3: native apps may use http on a loopback IP (any port); "localhost" is allowed but not recommended. */
function isLoopback(u: URL): boolean {
  return u.hostname === '127.0.0.1' || u.hostname === '[::1]' || u.hostname === 'localhost';
}

export function classifyRedirectUri(raw: string): { verdict: 'ok' | 'loopback' | 'fail' | 'review'; reason: string } {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    return { verdict: 'fail', reason: 'not an absolute URI' };
  }
  if (u.hash) return { verdict: 'fail', reason: 'contains a fragment (forbidden by RFC 6749 §3.1.2)' };
  if (u.protocol === 'https:') return { verdict: 'ok', reason: 'https' };
  if (u.protocol === 'http:')
    return isLoopback(u)
      ? { verdict: 'loopback', reason: 'http on loopback: allowed for native apps (RFC 8252 §7.3)' }
      : { verdict: 'fail', reason: 'http to a non-loopback host: codes and tokens travel in clear text' };
  return {
    verdict: 'review',
    reason: `custom scheme ${u.protocol} (a native app's private-use scheme per RFC 8252 §7.1, or a mistake)`,
  };
}

const redirectUrisHttps: CheckDefinition = {
  id: 'clients.redirect-uris-https',
  section: 'clients',
  title: 'Every redirect URI uses https (loopback for native apps excepted)',
  rationale:
    'Barycenter does not validate redirect URIs at registration: http lets authorization codes and implicit tokens travel in clear text. RFC 8252 §7.3 allows http only on the loopback interface, for native apps.',
  severity: 'high',
  remediation: {
    default:
      'Re-register the client with https redirect URIs (or loopback for a native app) and delete the old row from the clients table.',
  },
  async run(ctx) {
    const r = await readRows(ctx, 'clients', (db) => db.clients());
    if (!r.ok) return unreadable(r);
    const { value: clients, source } = r;
    const bad: Array<{ client_id: string; uri: string; reason: string }> = [];
    const review: typeof bad = [];
    const loopback: typeof bad = [];
    let total = 0;
    for (const c of clients) {
      if (c.redirect_uris_raw !== undefined)
        bad.push({ client_id: c.client_id, uri: c.redirect_uris_raw, reason: 'redirect_uris is not a JSON array' });
      for (const uri of c.redirect_uris) {
        total++;
        const v = classifyRedirectUri(uri);
        const row = { client_id: c.client_id, uri, reason: v.reason };
        if (v.verdict === 'fail') bad.push(row);
        else if (v.verdict === 'review') review.push(row);
        else if (v.verdict === 'loopback') loopback.push(row);
      }
    }
    const evidence: Evidence[] = [
      {
        source: `${source} clients.redirect_uris`,
        observed: { clients: clients.length, redirect_uris: total },
        expected: 'https, or http on loopback for native apps (RFC 8252 §7.3)',
      },
    ];
    if (loopback.length)
      evidence.push({
        source: 'loopback redirect URIs (accepted)',
        observed: loopback,
        note: 'the native-app exception of RFC 8252 §7.3: only valid for apps on the user’s own device',
      });
    if (review.length) evidence.push({ source: 'custom-scheme redirect URIs', observed: review });
    if (bad.length) {
      evidence.push({ source: 'redirect URIs that break the rule', observed: bad });
      return {
        status: 'fail',
        summary: `${bad.length} redirect URI(s) are not https: ${bad
          .slice(0, 3)
          .map((b) => b.uri)
          .join(', ')}${bad.length > 3 ? ', …' : ''}`,
        evidence,
      };
    }
    if (review.length)
      return {
        status: 'warn',
        summary: `${review.length} redirect URI(s) use a custom scheme; confirm they belong to native apps`,
        evidence,
      };
    return {
      status: 'pass',
      summary: `all ${total} redirect URI(s) use https${loopback.length ? ` or loopback (${loopback.length}, native-app exception)` : ''}`,
      evidence,
    };
  },
};

export const checks: CheckDefinition[] = [review, redirectUrisHttps];
