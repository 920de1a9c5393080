import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../log.js';
import { BarysafeError, ExitCode, errorText } from '../errors.js';
import { METRICS_CONTENT_TYPE, renderMetrics } from './metrics.js';
import { renderStatusPage, STATUS_PAGE_CSP } from './status-page.js';
import type { AgentView } from './view.js';

/**
 * The listener: /metrics (Prometheus text), /healthz (200 while the agent's loop is alive, 503 once
 * it is stopping) and / (the status page). GET and HEAD only; nothing here changes anything.
 */
export interface Listener {
  url: string;
  close(): Promise<void>;
}

export async function startListener(
  listen: string,
  deps: { view: () => Promise<AgentView>; healthy: () => boolean; logger: Logger },
): Promise<Listener> {
  const i = listen.lastIndexOf(':');
  const host = listen.slice(0, i).replace(/^\[|\]$/g, '');
  const port = Number(listen.slice(i + 1));
  const server = http.createServer((req, res) => {
    void (async () => {
      const common = {
        'x-content-type-options': 'nosniff',
        'cache-control': 'no-store',
        'referrer-policy': 'no-referrer',
      };
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { ...common, allow: 'GET, HEAD' }).end();
        return;
      }
      const path = new URL(req.url ?? '/', 'http://agent').pathname;
      try {
        if (path === '/metrics') {
          const text = await renderMetrics(await deps.view());
          res
            .writeHead(200, { ...common, 'content-type': METRICS_CONTENT_TYPE })
            .end(req.method === 'HEAD' ? undefined : text);
        } else if (path === '/healthz') {
          const ok = deps.healthy();
          res.writeHead(ok ? 200 : 503, { ...common, 'content-type': 'text/plain' }).end(ok ? 'ok\n' : 'stopping\n');
        } else if (path === '/') {
          const html = renderStatusPage(await deps.view());
          res
            .writeHead(200, {
              ...common,
              'content-type': 'text/html; charset=utf-8',
              'content-security-policy': STATUS_PAGE_CSP,
            })
            .end(req.method === 'HEAD' ? undefined : html);
        } else {
          res.writeHead(404, { ...common, 'content-type': 'text/plain' }).end('not found\n');
        }
      } catch (e) {
        deps.logger.error(`the listener could not answer ${path}: ${errorText(e)}`);
        if (!res.headersSent) res.writeHead(500, { ...common, 'content-type': 'text/plain' });
        res.end('internal error\n');
      }
    })();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e) =>
      reject(
        new BarysafeError('listen', `cannot listen on ${listen}: ${errorText(e)}`, {
          exitCode: ExitCode.USAGE,
          hint: 'set [agent] listen to a free host:port, or remove it',
        }),
      ),
    );
    server.listen(port, host, () => resolve());
  });
  const a = server.address() as AddressInfo;
  const shown = a.family === 'IPv6' ? `[${a.address}]` : a.address;
  return {
    url: `http://${shown}:${a.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
