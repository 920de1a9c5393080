// The status page in a real browser: Debian's Chromium driven by playwright-core (never a
// downloaded browser), headless, a fresh profile. It renders with no console error and no request
// leaving the page; a screenshot is kept under test-artifacts/.
import { CHROMIUM_FLAGS } from '../src/report/audit/browser.js';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { renderStatusPage, STATUS_PAGE_CSP } from '../src/agent/status-page.js';
import { startListener } from '../src/agent/server.js';
import { createLogger } from '../src/log.js';
import { fullView } from './support/agent-view.js';
import { REPO_ROOT } from './support/deployments.js';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = path.join(REPO_ROOT, 'test-artifacts');

describe('status page', () => {
  it('escapes what it shows', () => {
    const v = fullView();
    v.jobs[0]!.state.last_run!.summary = '<script>alert(1)</script>';
    const html = renderStatusPage(v);
    assert.doesNotMatch(html, /<script>/);
    assert.match(html, /&lt;script&gt;alert\(1\)&lt;\/script&gt;/);
    assert.doesNotMatch(html, /<link|<img|<script|src=|href="http/i, 'no external asset');
  });

  it(
    'renders in headless Chromium with no console error and no request leaving the page',
    { skip: existsSync(CHROMIUM) ? false : `${CHROMIUM} is not installed` },
    async () => {
      const { chromium } = await import('playwright-core');
      const listener = await startListener('127.0.0.1:0', {
        view: async () => fullView(new Date('2026-12-01T12:00:00Z')),
        healthy: () => true,
        logger: createLogger({ level: 'silent' }),
      });
      const profile = mkdtempSync(path.join(os.tmpdir(), 'barysafe-chromium-'));
      const context = await chromium.launchPersistentContext(profile, {
        executablePath: CHROMIUM,
        headless: true,
        args: CHROMIUM_FLAGS,
      });
      try {
        const origin = listener.url;
        const requests: string[] = [];
        const leaving: string[] = [];
        await context.route('**/*', (route) => {
          const url = route.request().url();
          requests.push(url);
          if (url.startsWith(origin + '/')) return route.continue();
          leaving.push(url);
          return route.abort();
        });
        const page = context.pages()[0] ?? (await context.newPage());
        const problems: string[] = [];
        page.on('console', (m) => {
          if (m.type() === 'error' || m.type() === 'warning') problems.push(`${m.type()}: ${m.text()}`);
        });
        page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
        page.on('requestfailed', (r) => problems.push(`requestfailed: ${r.url()}`));
        const res = await page.goto(`${origin}/`, { waitUntil: 'networkidle' });
        assert.equal(res?.status(), 200);
        assert.equal(res?.headers()['content-security-policy'], STATUS_PAGE_CSP);
        await page.setViewportSize({ width: 1280, height: 900 });

        assert.equal(await page.title(), 'barysafe agent on idp-1');
        const rows = await page.locator('tbody tr th').allTextContents();
        assert.deepEqual(rows, ['backup', 'verify', 'drill', 'check']);
        const text = await page.locator('body').innerText();
        assert.match(text, /20261201T020001Z-abcdef/);
        assert.match(text, /within RPO 26\.0 h/);
        assert.match(text, /RTO\s+41 s\s+≤ 5 min/);
        assert.match(text, /2 fail/);
        assert.match(text, /failed \(exit 10\)/, 'the failing verify is shown as such');
        assert.match(text, /running/);
        assert.match(text, /age\s+334\.5 d/);

        mkdirSync(ARTIFACTS, { recursive: true });
        const shot = path.join(ARTIFACTS, 'agent-status-page.png');
        await page.screenshot({ path: shot, fullPage: true });
        assert.ok(statSync(shot).size > 10_000, 'the screenshot holds a rendered page');

        assert.deepEqual(problems, [], 'no console error or warning, no failed request');
        assert.deepEqual(leaving, [], 'no request left the page');
        assert.deepEqual(requests, [`${origin}/`], 'the page loads nothing but itself');
      } finally {
        await context.close();
        await listener.close();
        rmSync(profile, { recursive: true, force: true });
      }
    },
  );
});
