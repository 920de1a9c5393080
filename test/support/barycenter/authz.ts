// Authz policy listener. The stand-in does not evaluate KDL policies: it loads the directory (a
// missing one is fatal, as upstream) and denies every check.
import { statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { FatalError } from './errors.js';
import { readBody, sendJson, sendText } from './http-util.js';

export function loadPolicies(dir: string): void {
  let isDir = false;
  try {
    isDir = statSync(dir).isDirectory();
  } catch {
    /* missing */
  }
  if (!isDir)
    throw new FatalError(
      `failed to load authz policies: invalid policy: policies directory \`${dir}\` does not exist or is not a directory`,
    );
}

export function createAuthzServer(): Server {
  return createServer(async (req, res) => {
    const p = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (p === '/healthz' && req.method === 'GET') return sendText(res, 200, 'ok');
    if ((p === '/v1/check' || p === '/v1/expand') && req.method === 'POST') {
      await readBody(req);
      return sendJson(res, 200, p === '/v1/check' ? { allowed: false } : { subjects: [] });
    }
    res.writeHead(404, { 'content-length': 0 });
    res.end();
  });
}
