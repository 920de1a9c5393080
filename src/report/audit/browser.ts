import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { BrowserContext } from 'playwright-core';
import { BarysafeError, ExitCode, errorText } from '../../errors.js';

/**
 * The system's Chromium, driven by playwright-core: never a browser playwright downloads. Each use
 * gets a fresh profile directory (removed afterwards) and the flags that keep Chromium from
 * talking to anything: no sync, no component updates, no background networking.
 */
export const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

export function chromiumPath(): string {
  return process.env.BARYSAFE_CHROMIUM ?? '/usr/bin/chromium';
}

export async function withChromium<T>(fn: (context: BrowserContext) => Promise<T>): Promise<T> {
  const executablePath = chromiumPath();
  if (!existsSync(executablePath))
    throw new BarysafeError('browser', `PDF output needs Chromium, and there is none at ${executablePath}`, {
      exitCode: ExitCode.USAGE,
      hint: 'install the system browser (Debian: apt-get install chromium) or set BARYSAFE_CHROMIUM to its path; --format html prints to PDF from any browser too',
    });
  const { chromium } = await import('playwright-core');
  const profile = await mkdtemp(path.join(os.tmpdir(), 'barysafe-chromium-'));
  let context: BrowserContext;
  try {
    // A persistent context is how playwright accepts a profile directory of our choosing.
    context = await chromium.launchPersistentContext(profile, {
      executablePath,
      headless: true,
      args: CHROMIUM_FLAGS,
      offline: true,
    });
  } catch (e) {
    await rm(profile, { recursive: true, force: true });
    throw new BarysafeError('browser', `Chromium at ${executablePath} did not start: ${errorText(e).split('\n')[0]}`, {
      exitCode: ExitCode.FAILURE,
      hint: 'check that the browser runs headless on this host (missing libraries, no /dev/shm)',
    });
  }
  try {
    return await fn(context);
  } finally {
    await context.close().catch(() => {});
    await rm(profile, { recursive: true, force: true });
  }
}

/** Prints self-contained HTML to PDF with Chromium's print engine; every request is refused. */
export async function htmlToPdf(html: string): Promise<Buffer> {
  return withChromium(async (context) => {
    await context.route('**/*', (route) => route.abort());
    const page = await context.newPage();
    await page.setContent(html, { waitUntil: 'load' });
    return page.pdf({
      format: 'A4',
      printBackground: true,
      margin: { top: '12mm', bottom: '12mm', left: '10mm', right: '10mm' },
    });
  });
}
