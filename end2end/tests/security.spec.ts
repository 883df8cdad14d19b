// The page's Content-Security-Policy: the SPA runs under it without a single refusal, and only
// the sites named with --frame-ancestor may show it in a frame.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Page } from '@playwright/test';
import { test, expect, register, newUsername, counterValue, Server } from './fixtures';

test('the SPA runs under its Content-Security-Policy', async ({ page, server }) => {
  const response = await page.goto(server.url + '/notes');
  const policy = response!.headers()['content-security-policy'];
  expect(policy).toContain("script-src 'self' 'wasm-unsafe-eval' 'sha256-");
  expect(policy).not.toContain('unsafe-inline');
  expect(policy).toContain("frame-ancestors 'none'");
  expect(response!.headers()['x-content-type-options']).toBe('nosniff');
  expect(response!.headers()['referrer-policy']).toBe('no-referrer');
  // The fixture fails the test on any violation; these steps make the app do its work.
  await page.getByRole('link', { name: 'Home' }).click();
  await page.getByRole('button', { name: 'Increment' }).click();
  await expect(counterValue(page)).toHaveText('1');
  await register(page, newUsername('csp'));
  await page.getByRole('link', { name: 'Notes' }).click();
  await expect(page.getByRole('heading', { name: 'Notes' }).first()).toBeVisible();
});

/** Serves, at http://framer.test/, a page of that origin that frames `url`. */
async function frameFrom(page: Page, url: string): Promise<void> {
  await page.route('http://framer.test/**', (route) =>
    route.fulfill({
      contentType: 'text/html',
      body: `<!doctype html><title>framer</title><iframe src="${url}/" width="800" height="600"></iframe>`,
    }),
  );
  await page.goto('http://framer.test/');
}

// The framing tests use a page of their own: the fixture's page fails a test on any refusal.
test('a site not named cannot frame the SPA', async ({ context, server }) => {
  const page = await context.newPage();
  const refused = page.waitForEvent('console', (message) =>
    /Refused to (frame|display)/.test(message.text()) && /frame-ancestors/.test(message.text()),
  );
  await frameFrom(page, server.url);
  await refused;
  await expect(page.frameLocator('iframe').getByRole('heading', { name: 'Hello, visitor' })).toHaveCount(0);
});

test('a site named with --frame-ancestor frames the SPA, cookies blocked and all', async ({ context }) => {
  const page = await context.newPage();
  const dataDir = mkdtempSync(join(tmpdir(), 'cookieless-data-'));
  const server = await new Server(dataDir, ['--frame-ancestor', 'http://framer.test']).start();
  try {
    await frameFrom(page, server.url);
    const app = page.frameLocator('iframe');
    await expect(app.getByRole('heading', { name: 'Hello, visitor' })).toBeVisible();
    await app.getByRole('button', { name: 'Increment' }).click();
    await expect(app.getByRole('status', { name: 'Value' })).toHaveText('1');
  } finally {
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
});
