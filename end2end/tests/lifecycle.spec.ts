// Sessions that end on the server, sessions that outlive the server, and an SPA on another origin.
import { mkdtempSync, cpSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  test, expect, register, session, counterValue, notices, newUsername, heldToken, Server, DIST,
  PASSWORD, openBrowser, watchForCookies, expectCookiesBlocked, startBackend,
} from './fixtures';

test('a logout from elsewhere sends the UI back to login with a notice', async ({ page, server }) => {
  await register(page, newUsername('ada'));
  const token = await heldToken(page);
  expect(token).toBeTruthy();
  expect((await server.call('POST', '/api/auth/logout', token)).status).toBe(204);

  await page.getByRole('button', { name: 'Increment' }).click();
  await expect(page.getByRole('heading', { name: 'Log in' })).toBeVisible();
  await expect(notices(page).getByText('Your session has ended. Please log in again.')).toBeVisible();
  await expect(page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Log in' })).toBeVisible();
});

test('an idle session expires and the UI says so', async ({ context }) => {
  const { backend: server, dispose } = await startBackend(['--idle-timeout', '2s']);
  try {
    const page = context.pages()[0];
    await page.goto(server.url + '/');
    await expectCookiesBlocked(page);
    const username = newUsername('ida');
    await register(page, username);
    const token = await heldToken(page);
    // At its deadline the UI leaves by itself, without a request; the server agrees.
    await expect(page.getByRole('heading', { name: 'Log in', exact: true })).toBeVisible();
    await expect(notices(page).getByText('Your session has ended. Please log in again.')).toBeVisible();
    expect((await server.call('GET', '/api/auth/me', token)).status).toBe(401);
    await page.getByLabel('Username').fill(username);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Log in' }).click();
    await expect(page.getByRole('heading', { name: `Hello, ${username}` })).toBeVisible();
  } finally {
    await dispose();
  }
});

test('the session survives a server restart, even after kill -9', async ({ page, server }) => {
  const username = newUsername('grace');
  await register(page, username);
  await page.getByRole('button', { name: 'Increment' }).click();
  await expect(counterValue(page)).toHaveText('1');

  await server.stop('SIGKILL');
  await server.start();
  await page.reload();
  await expect(page.getByRole('heading', { name: `Hello, ${username}` })).toBeVisible();
  await expect(counterValue(page)).toHaveText('1');

  await server.stop('SIGTERM');
  await server.start();
  await page.reload();
  await expect(page.getByRole('heading', { name: `Hello, ${username}` })).toBeVisible();
});

test('an SPA served from another origin logs in through CORS', async () => {
  const siteDir = mkdtempSync(join(tmpdir(), 'cookieless-site-'));
  const spaDataDir = mkdtempSync(join(tmpdir(), 'cookieless-data-'));
  cpSync(DIST, siteDir, { recursive: true });
  // The SPA's origin only serves its files (the demo server in memory mode); the API is elsewhere.
  const siteServer = await new Server(spaDataDir, ['--store', 'memory'], siteDir).start();
  const { backend: api, dispose } = await startBackend(['--cors-origin', siteServer.url]);
  const index = join(siteDir, 'index.html');
  // Before <title>, which even a minified page keeps (unlike an optional <head> tag).
  const html = readFileSync(index, 'utf8');
  const configured = html.replace(/<title>/i, `<meta name="cookieless-api" content="${api.url}"><title>`);
  expect(configured, 'the API origin was written into the page').toContain(api.url);
  writeFileSync(index, configured);
  // The page's Content-Security-Policy is made from the page when the server starts, so that it
  // lets the page call the API's origin.
  await siteServer.stop();
  await siteServer.start();
  const context = await openBrowser({ cookies: false });
  const checkCookies = watchForCookies(context);
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    const apiCalls: string[] = [];
    page.on('request', (request) => {
      if (request.url().startsWith(api.url)) apiCalls.push(request.url());
    });
    await page.goto(siteServer.url + '/');
    await expectCookiesBlocked(page);
    const username = newUsername('cors');
    await api.call('POST', '/api/auth/register', undefined, { username, password: PASSWORD });
    await page.getByRole('link', { name: 'Log in' }).click();
    await page.getByLabel('Username').fill(username);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Log in' }).click();
    await expect(page.getByRole('heading', { name: `Hello, ${username}` })).toBeVisible();
    await page.getByRole('button', { name: 'Increment' }).click();
    await expect(counterValue(page)).toHaveText('1');
    await page.getByRole('button', { name: 'Reset' }).click();
    await expect(counterValue(page)).toHaveText('0');
    await page.reload();
    await expect(page.getByRole('heading', { name: `Hello, ${username}` })).toBeVisible();
    expect(apiCalls.length, 'calls that went to the API origin').toBeGreaterThan(3);
    await expect(session(page)).toContainText('held (');
    await checkCookies();
  } finally {
    await context.close();
    await dispose();
    await siteServer.stop();
    for (const dir of [siteDir, spaDataDir]) rmSync(dir, { recursive: true, force: true });
  }
});
