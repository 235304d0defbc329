/**
 * Debian's Chromium, driven by playwright-core (Playwright's own browser
 * download cannot work here). Root needs --no-sandbox; without internet,
 * the background networking, component updates, sync and first-run work
 * are turned off, and a fresh profile directory is used, or it stalls on
 * refused connections. When the browser cannot start, this throws an error
 * that says why and how to fix it: the tests fail, they are never skipped.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import type { BrowserContext } from 'playwright-core';

export const CHROMIUM = process.env['SQUALL_CHROMIUM'] ?? '/usr/bin/chromium';

export const CHROMIUM_ARGS = ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

export interface Browser {
  context: BrowserContext;
  close(): Promise<void>;
}

export async function launchChromium(viewport = { width: 1360, height: 900 }): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `the web view's browser test needs Chromium at ${CHROMIUM}, and there is none: install Debian's package with ` +
        '`apt-get update && apt-get install -y --no-install-recommends chromium` (.ci/run does), or set SQUALL_CHROMIUM to a Chromium binary',
    );
  }
  // A fresh profile each time (playwright-core passes it as --user-data-dir).
  const profile = mkdtempSync(join(tmpdir(), 'squall-chromium-'));
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, viewport, timeout: 30_000 });
  } catch (err) {
    rmSync(profile, { recursive: true, force: true });
    throw new Error(`Chromium (${CHROMIUM}) did not start, so the web view cannot be tested: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  return {
    context,
    async close() {
      await context.close().catch(() => {});
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
