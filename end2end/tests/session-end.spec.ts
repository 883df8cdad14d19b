// The user sees when the session ends: a warning two minutes ahead, a way to stay signed in, and
// the login page in every tab the moment it ends. The server's deadline reaches the SPA in
// X-Session-Expires.
import { BrowserContext, Page, Request } from '@playwright/test';
import {
  test, expect, register, notices, newUsername, openBrowser, startBackend, PASSWORD,
} from './fixtures';

const warning = (page: Page) => page.getByRole('alert').filter({ hasText: 'Your session ends' });

async function browserWithClock(): Promise<BrowserContext> {
  const context = await openBrowser({ cookies: false });
  await context.clock.install();
  return context;
}

// These two run on real time: the warning's moment is the server's deadline as the server counts
// it, which a browser clock moved by the test would not change.
test('the warning comes two minutes ahead, and "Stay signed in" moves the end', async ({ context, page }) => {
  const { backend, dispose } = await startBackend(['--idle-timeout', '125s']);
  try {
    await page.goto(backend.url + '/');
    const registered = page.waitForResponse((response) => response.url().endsWith('/api/auth/register'));
    await register(page, newUsername('kay'));
    const first = (await registered).headers()['x-session-expires'];
    expect(first).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);

    await expect(warning(page)).toContainText('Your session ends in 2 minutes.');
    const touched = page.waitForResponse((response) => response.url().endsWith('/api/session/touch'));
    await warning(page).getByRole('button', { name: 'Stay signed in' }).click();
    const answer = await touched;
    expect(answer.status()).toBe(204);
    expect(answer.headers()['x-session-expires'] > first, 'the deadline moved').toBe(true);
    await expect(warning(page)).toHaveCount(0);
    // Untouched since, the warning comes back as the new end draws near.
    await expect(warning(page)).toContainText('Your session ends in 2 minutes.');
    expect(await context.cookies()).toEqual([]);
  } finally {
    await dispose();
  }
});

test('near the absolute end, the warning asks for a new login instead, in every tab', async ({ page, context }) => {
  const { backend, dispose } = await startBackend(['--absolute-timeout', '125s']);
  try {
    await page.goto(backend.url + '/');
    await register(page, newUsername('liskov'));
    const second = await context.newPage();
    await second.goto(backend.url + '/');
    for (const tab of [page, second]) {
      await expect(warning(tab)).toContainText('Your session ends in 2 minutes and cannot be extended.');
      await expect(warning(tab).getByRole('link', { name: 'Log in again' })).toBeVisible();
      await expect(warning(tab).getByRole('button', { name: 'Stay signed in' })).toHaveCount(0);
    }
  } finally {
    await dispose();
  }
});

test('when the session ends, every tab shows the login page at once, without a request', async () => {
  const { backend, dispose } = await startBackend(['--idle-timeout', '150s']);
  const context = await browserWithClock();
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    await page.goto(backend.url + '/');
    await register(page, newUsername('hamilton'));
    const second = await context.newPage();
    await second.goto(backend.url + '/notes');
    await expect(second.getByRole('heading', { name: 'Notes', exact: true })).toBeVisible();
    await expect(second.getByText('No notes yet')).toBeVisible();
    const requests: Request[] = [];
    for (const tab of [page, second]) tab.on('request', (request) => requests.push(request));

    await context.clock.fastForward('02:31');
    for (const tab of [page, second]) {
      await expect(tab.getByRole('heading', { name: 'Log in', exact: true })).toBeVisible();
      await expect(notices(tab)).toContainText('Your session has ended. Please log in again.');
    }
    expect(requests.map((request) => request.url())).toEqual([]);
    // The login page comes back to the notes afterwards.
    expect(new URL(second.url()).search).toBe('?next=/notes');
  } finally {
    await context.close();
    await dispose();
  }
});

test('a page for the logged-in says how to see it, and comes back to it after the login', async ({ page, server }) => {
  const username = newUsername('dijkstra');
  expect((await server.call('POST', '/api/auth/register', undefined, { username, password: PASSWORD })).status).toBe(201);
  await page.goto(server.url + '/notes');
  await expect(page.getByRole('heading', { name: 'Log in to see your notes' })).toBeVisible();
  await expect(page.getByText('could not be loaded')).toHaveCount(0);
  await expect(page.getByRole('heading', { name: 'New note' })).toHaveCount(0);
  await page.getByRole('main').getByRole('link', { name: 'Log in' }).click();
  await expect(page).toHaveURL(/\/login\?next=\/notes$/);
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Log in' }).click();
  await expect(page.getByRole('heading', { name: 'Notes', exact: true })).toBeVisible();
  await expect(page).toHaveURL(/\/notes$/);
});

test('a new account made from such a page comes back to it too', async ({ page, server }) => {
  await page.goto(server.url + '/devices');
  await expect(page.getByRole('heading', { name: 'Log in to see your devices' })).toBeVisible();
  await page.getByRole('main').getByRole('link', { name: 'create an account' }).click();
  await expect(page).toHaveURL(/\/register\?next=\/devices$/);
  await page.getByLabel('Username').fill(newUsername('hoare'));
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Register' }).click();
  await expect(page.getByRole('heading', { name: 'Devices', exact: true })).toBeVisible();
  await expect(page).toHaveURL(/\/devices$/);
});
