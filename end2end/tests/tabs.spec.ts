// Every tab of the site shares one session, as with a session cookie, although cookies (and with
// them Web Storage and Web Locks) are blocked: the tabs talk over a BroadcastChannel.
import { Page, Request } from '@playwright/test';
import {
  test, expect, register, session, counterValue, notices, newUsername, openBrowser, watchForCookies,
  heldToken, PASSWORD,
} from './fixtures';

const heading = (page: Page, name: string) => page.getByRole('heading', { name, exact: true });

/** Every request `page` makes from now on. */
function requestsOf(page: Page): Request[] {
  const seen: Request[] = [];
  page.on('request', (request) => seen.push(request));
  return seen;
}

test('a page opened in a second tab is logged in, with the same token', async ({ page, context, server }) => {
  await expect(session(page)).toContainText('Tabsshared by every tab');
  const username = newUsername('grace');
  await register(page, username);

  const second = await context.newPage();
  const fromSecond = requestsOf(second);
  await second.goto(server.url + '/notes');
  await expect(heading(second, 'Notes')).toBeVisible();
  await expect(second.getByRole('navigation', { name: 'Main' })).toContainText(`Logged in as ${username}`);
  const token = await heldToken(page);
  expect(await heldToken(second)).toEqual(token);
  await expect(second.getByText('could not be loaded')).toHaveCount(0);
  // Its first call already carried the token, and who is logged in came from the first tab
  // (past the moment it would have asked the server, had the first tab not said).
  await second.waitForTimeout(1_500);
  const calls = fromSecond.filter((request) => new URL(request.url()).pathname.startsWith('/api/'));
  expect(calls.length).toBeGreaterThan(0);
  for (const call of calls) expect(await call.headerValue('x-session'), call.url()).toBe(token);
  expect(calls.map((call) => new URL(call.url()).pathname)).not.toContain('/api/auth/me');
});

test('a logout in one tab shows the login page in the other within a second, with no request from it', async ({ page, context, server }) => {
  const username = newUsername('barbara');
  await register(page, username);
  const second = await context.newPage();
  await second.goto(server.url + '/notes');
  await expect(heading(second, 'Notes')).toBeVisible();
  await expect(second.getByText('No notes yet')).toBeVisible();
  const fromSecond = requestsOf(second);

  await page.getByRole('button', { name: 'Log out' }).click();
  await expect(heading(page, 'Log in')).toBeVisible();
  await expect(heading(second, 'Log in')).toBeVisible({ timeout: 1_000 });
  await expect(notices(second)).toContainText('You were logged out in another tab.');
  expect(await heldToken(second)).toBeUndefined();
  expect(fromSecond.map((request) => request.url())).toEqual([]);
});

test('a login in one tab logs in the others', async ({ page, context, server }) => {
  const username = newUsername('frances');
  expect((await server.call('POST', '/api/auth/register', undefined, { username, password: PASSWORD })).status).toBe(201);
  const second = await context.newPage();
  await second.goto(server.url + '/notes');
  await expect(heading(second, 'Log in to see your notes')).toBeVisible();

  await page.goto(server.url + '/login');
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(PASSWORD);
  const fromSecond = requestsOf(second);
  await page.getByRole('button', { name: 'Log in' }).click();
  await expect(heading(page, `Hello, ${username}`)).toBeVisible();
  await expect(heading(second, 'Notes')).toBeVisible();
  await expect(second.getByRole('navigation', { name: 'Main' })).toContainText(`Logged in as ${username}`);
  expect(await heldToken(second)).toEqual(await heldToken(page));
  // The second tab learned who logged in from the first, without asking the server (past the
  // moment it would have asked, had the first not said); it only loads what its page shows.
  await second.waitForTimeout(1_500);
  const paths = fromSecond.map((request) => new URL(request.url()).pathname);
  expect(paths).not.toContain('/api/auth/me');
  expect(paths.filter((path) => !['/api/notes', '/api/session/transport'].includes(path))).toEqual([]);
});

test('a session the server ended reaches every tab, without a request from the others', async ({ page, context, server }) => {
  const username = newUsername('rosalind');
  await register(page, username);
  const second = await context.newPage();
  await second.goto(server.url + '/');
  await expect(heading(second, `Hello, ${username}`)).toBeVisible();
  // From another device, the user logs every other session out, this browser's included.
  const login = await server.call('POST', '/api/auth/login', undefined, { username, password: PASSWORD });
  const device = login.headers.get('x-session') ?? undefined;
  expect((await server.call('POST', '/api/sessions/revoke-others', device)).status).toBe(204);

  const fromSecond = requestsOf(second);
  await page.getByRole('button', { name: 'Increment' }).click();
  for (const tab of [page, second]) {
    await expect(heading(tab, 'Log in')).toBeVisible();
    await expect(notices(tab)).toContainText('Your session has ended. Please log in again.');
  }
  await second.waitForTimeout(1_500);
  expect(fromSecond.map((request) => request.url())).toEqual([]);
});

test('two new tabs clicking Increment at once start one session, which counts 2', async ({ page, context, server }) => {
  const second = await context.newPage();
  await second.goto(server.url + '/');
  for (const tab of [page, second]) {
    await expect(counterValue(tab)).toHaveText('0');
    await expect(session(tab)).toContainText('Tokennone');
  }
  // Each click's request is held on its way for a while: were the tabs not to wait for each
  // other, both would be in flight without a token, and start two sessions.
  const sent: (string | null)[] = [];
  for (const tab of [page, second]) {
    await tab.route('**/api/counter/increment', async (route) => {
      sent.push(await route.request().headerValue('x-session'));
      await new Promise((resolve) => setTimeout(resolve, 300));
      await route.continue();
    });
  }
  await Promise.all([
    page.getByRole('button', { name: 'Increment' }).click(),
    second.getByRole('button', { name: 'Increment' }).click(),
  ]);
  // Each tab shows what its own click's answer said: one of them counted the other's click too.
  await expect
    .poll(async () => [await counterValue(page).textContent(), await counterValue(second).textContent()].sort())
    .toEqual(['1', '2']);
  const token = await heldToken(page);
  expect(token).toBeTruthy();
  await expect.poll(() => heldToken(second)).toEqual(token);
  const counter = await server.call('GET', '/api/counter', token);
  expect(await counter.json()).toEqual({ value: 2 });
  expect(sent.filter((sentToken) => sentToken === null), 'requests sent without a token').toHaveLength(1);
  expect(sent.filter((sentToken) => sentToken === token)).toHaveLength(1);
});

test('with tabs=per-tab, two tabs are two independent sessions', async ({ page, context, server }) => {
  await page.goto(server.url + '/?tabs=per-tab');
  await expect(session(page)).toContainText('Tabsthis tab only');
  await page.getByRole('button', { name: 'Increment' }).click();
  await expect(counterValue(page)).toHaveText('1');
  const username = newUsername('ada');
  await register(page, username);

  const second = await context.newPage();
  await second.goto(server.url + '/?tabs=per-tab');
  await expect(heading(second, 'Hello, visitor')).toBeVisible();
  await expect(counterValue(second)).toHaveText('0');
  await second.getByRole('button', { name: 'Increment' }).click();
  await expect(counterValue(second)).toHaveText('1');
  expect(await heldToken(second)).not.toEqual(await heldToken(page));
  await page.getByRole('button', { name: 'Log out' }).click();
  await expect(heading(page, 'Log in')).toBeVisible();
  await second.reload();
  await expect(counterValue(second)).toHaveText('1');
});

test('closing every tab ends the session; a reload keeps it', async ({ server }) => {
  const context = await openBrowser({ cookies: false });
  const checkCookies = watchForCookies(context);
  const first = context.pages()[0] ?? (await context.newPage());
  await first.goto(server.url + '/');
  const username = newUsername('hopper');
  await register(first, username);
  const second = await context.newPage();
  await second.goto(server.url + '/');
  await expect(heading(second, `Hello, ${username}`)).toBeVisible();
  await second.reload();
  await expect(heading(second, `Hello, ${username}`)).toBeVisible();

  // A new tab opens before the last one closes, or the browser would go with it.
  const blank = await context.newPage();
  await first.close();
  await second.close();
  await blank.goto(server.url + '/');
  await expect(heading(blank, 'Hello, visitor')).toBeVisible();
  await expect(session(blank)).toContainText('Tokennone');
  await checkCookies();
  await context.close();
});

test('a write sent while a login rotates the token is applied once, not lost', async ({ page, context, server }) => {
  const username = newUsername('lovelace');
  expect((await server.call('POST', '/api/auth/register', undefined, { username, password: PASSWORD })).status).toBe(201);
  await page.getByRole('button', { name: 'Increment' }).click();
  await expect(counterValue(page)).toHaveText('1');
  const anonymous = await heldToken(page);

  // The next increment leaves with the anonymous token, and reaches the server only once a login
  // in another tab has rotated that token.
  let loggedIn!: () => void;
  const login = new Promise<void>((resolve) => (loggedIn = resolve));
  const sent: (string | null)[] = [];
  await page.route('**/api/counter/increment', async (route) => {
    const token = await route.request().headerValue('x-session');
    sent.push(token);
    if (token === anonymous) await login;
    await route.continue();
  });
  await page.getByRole('button', { name: 'Increment' }).click();
  await expect.poll(() => sent.length).toBe(1);

  const second = await context.newPage();
  await second.goto(server.url + '/login');
  await second.getByLabel('Username').fill(username);
  await second.getByLabel('Password').fill(PASSWORD);
  await second.getByRole('button', { name: 'Log in' }).click();
  await expect(heading(second, `Hello, ${username}`)).toBeVisible();
  const member = await heldToken(second);
  expect(member).not.toEqual(anonymous);
  await expect.poll(() => heldToken(page)).toEqual(member);
  loggedIn();

  // Refused with the retired token before it ran, then sent again with the new one.
  await expect.poll(() => sent).toEqual([anonymous, member]);
  await expect(counterValue(page)).toHaveText('2');
  const counter = await server.call('GET', '/api/counter', member);
  expect(await counter.json()).toEqual({ value: 2 });
});

test('a browser without BroadcastChannel keeps a session per tab, and says so', async ({ context, server }) => {
  await context.addInitScript(() => {
    delete (window as unknown as { BroadcastChannel?: unknown }).BroadcastChannel;
  });
  const first = await context.newPage();
  await first.goto(server.url + '/');
  await expect(session(first)).toContainText('Tabsthis tab only');
  await first.getByRole('button', { name: 'Increment' }).click();
  await expect(counterValue(first)).toHaveText('1');
  const second = await context.newPage();
  await second.goto(server.url + '/');
  await expect(counterValue(second)).toHaveText('0');
  await expect(session(second)).toContainText('Tokennone');
});
