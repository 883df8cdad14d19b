// Where the token lives between page loads, under each storage policy, and isolation between browsers.
import {
  test, expect, register, session, counterValue, newUsername, openBrowser, watchForCookies,
  expectCookiesBlocked, heldToken,
} from './fixtures';

test('with cookies blocked, Auto keeps the session in history.state across reloads and navigation', async ({ page }) => {
  await expect(session(page)).toContainText('Kept inhistory.state');
  await page.getByRole('button', { name: 'Increment' }).click();
  await expect(counterValue(page)).toHaveText('1');
  const username = newUsername('hedy');
  await register(page, username); // navigates client-side to /register and back to /
  await page.reload();
  await expect(page.getByRole('heading', { name: `Hello, ${username}` })).toBeVisible();
  await expect(counterValue(page)).toHaveText('1');

  await page.getByRole('link', { name: 'Home' }).click();
  await page.goto(page.url().replace(/\/$/, '/no/such/page'));
  await expect(page.getByRole('heading', { name: 'Page not found' })).toBeVisible();
  await page.goBack();
  await expect(page.getByRole('heading', { name: `Hello, ${username}` })).toBeVisible();
  expect(await page.evaluate(() => Object.keys(window.sessionStorage ?? {}).length).catch(() => 'blocked'))
    .toBe('blocked');
});

test('with cookies blocked, Memory loses the session on reload', async ({ page, server }) => {
  await page.goto(server.url + '/?storage=memory');
  await expect(session(page)).toContainText('Kept inmemory only');
  await page.getByRole('button', { name: 'Increment' }).click();
  await expect(counterValue(page)).toHaveText('1');
  const username = newUsername('alan');
  await register(page, username);
  await page.goto(server.url + '/?storage=memory');
  await expect(page.getByRole('heading', { name: 'Hello, visitor' })).toBeVisible();
  await expect(counterValue(page)).toHaveText('0');
  await expect(session(page)).toContainText('Tokennone');
});

test('with cookies allowed, Auto keeps the token in sessionStorage', async ({ server }) => {
  const context = await openBrowser({ cookies: true });
  const checkCookies = watchForCookies(context);
  const page = context.pages()[0] ?? (await context.newPage());
  await page.goto(server.url + '/');
  await expect(session(page)).toContainText('Kept insessionStorage');
  await expect(session(page)).toContainText('Cookies in this browseraccepted');
  const username = newUsername('joan');
  await register(page, username);
  const stored = await page.evaluate(() => sessionStorage.getItem('x-session'));
  expect(stored).toMatch(/^[A-Za-z0-9_-]{43}$/);
  await page.reload();
  await expect(page.getByRole('heading', { name: `Hello, ${username}` })).toBeVisible();
  await checkCookies();
  await context.close();
});

test('two browsers are two independent sessions', async ({ page, server }) => {
  const username = newUsername('edsger');
  await register(page, username);
  await page.getByRole('button', { name: 'Increment' }).click();
  await expect(counterValue(page)).toHaveText('1');

  const other = await openBrowser({ cookies: false });
  const checkCookies = watchForCookies(other);
  const otherPage = other.pages()[0] ?? (await other.newPage());
  await otherPage.goto(server.url + '/');
  await expectCookiesBlocked(otherPage);
  await expect(otherPage.getByRole('heading', { name: 'Hello, visitor' })).toBeVisible();
  for (const expected of ['1', '2', '3']) {
    await otherPage.getByRole('button', { name: 'Increment' }).click();
    await expect(counterValue(otherPage)).toHaveText(expected);
  }
  expect(await heldToken(otherPage)).not.toEqual(await heldToken(page));

  await page.reload();
  await expect(counterValue(page)).toHaveText('1');
  await expect(page.getByRole('heading', { name: `Hello, ${username}` })).toBeVisible();
  await checkCookies();
  await other.close();
});
