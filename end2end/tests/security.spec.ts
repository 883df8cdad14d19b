// The page's Content-Security-Policy: the SPA runs under it without a single refusal, and only
// the sites named with --frame-ancestor may show it in a frame.
import { createServer } from 'node:http';
import { AddressInfo } from 'node:net';
import { test, expect, register, newUsername, counterValue, startBackend } from './fixtures';

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

/**
 * A site of another origin on loopback (Chromium keeps public sites from framing loopback ones
 * whatever the policy says), whose page frames `url`. Returns its origin and a way to stop it.
 */
async function framingSite(): Promise<{ origin: string; frame: (url: string) => void; close: () => void }> {
  let framed = '';
  const site = createServer((_, response) => {
    response.writeHead(200, { 'content-type': 'text/html' });
    response.end(`<!doctype html><title>framer</title><iframe src="${framed}/" width="800" height="600"></iframe>`);
  });
  await new Promise<void>((listening) => site.listen(0, '127.0.0.1', listening));
  const { port } = site.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    frame: (url) => {
      framed = url;
    },
    close: () => site.close(),
  };
}

// The framing tests use a page of their own: the fixture's page fails a test on any refusal.
test('a site not named cannot frame the SPA', async ({ context, server }) => {
  const site = await framingSite();
  try {
    const page = await context.newPage();
    const refused = page.waitForEvent('console', {
      predicate: (message) => /frame-ancestors/.test(message.text()),
      timeout: 15_000,
    });
    site.frame(server.url);
    await page.goto(site.origin + '/');
    await refused;
    await expect(page.frameLocator('iframe').getByRole('heading', { name: 'Hello, visitor' })).toHaveCount(0);
  } finally {
    site.close();
  }
});

test('a site named with --frame-ancestor frames the SPA, cookies blocked and all', async ({ context }) => {
  const site = await framingSite();
  const { backend: server, dispose } = await startBackend(['--frame-ancestor', site.origin]);
  try {
    const page = await context.newPage();
    site.frame(server.url);
    await page.goto(site.origin + '/');
    const app = page.frameLocator('iframe');
    await expect(app.getByRole('heading', { name: 'Hello, visitor' })).toBeVisible();
    await app.getByRole('button', { name: 'Increment' }).click();
    await expect(app.getByRole('status', { name: 'Value' })).toHaveText('1');
  } finally {
    await dispose();
    site.close();
  }
});
