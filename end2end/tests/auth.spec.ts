// Registering, logging in and out, and the visitor's counter, in a browser whose cookies are blocked.
import {
  test, expect, register, session, counterValue, notices, newUsername, PASSWORD,
} from './fixtures';

test('registering logs in and shows the welcome message once', async ({ page }) => {
  const username = newUsername('ada');
  await register(page, username);
  await expect(notices(page).getByText(`Welcome, ${username}! Your account is ready.`)).toBeVisible();
  await expect(session(page)).toContainText(`Logged in as${username}`);
  await expect(session(page)).toContainText('held (');

  await page.reload();
  await expect(page.getByRole('heading', { name: `Hello, ${username}` })).toBeVisible();
  await expect(notices(page).getByText('Welcome,')).toHaveCount(0);
});

test('a notice can be dismissed from the keyboard', async ({ page }) => {
  await register(page, newUsername('kay'));
  const dismiss = notices(page).getByRole('button', { name: 'Dismiss' });
  await dismiss.focus();
  await page.keyboard.press('Enter');
  await expect(notices(page).getByRole('status')).toHaveCount(0);
});

test('registration explains what is wrong next to the form', async ({ page }) => {
  await page.getByRole('link', { name: 'Register' }).click();
  await page.getByLabel('Username').fill('No Way');
  await page.getByLabel('Password').fill('short');
  await page.getByRole('button', { name: 'Register' }).click();
  await expect(page.getByRole('alert')).toHaveText('Please correct the fields below.');
  await expect(page.getByText('Use only lowercase letters a-z, digits and underscores.')).toBeVisible();
  await expect(page.getByText('Use at least 8 characters.')).toBeVisible();
});

test('a taken username is refused', async ({ page, server }) => {
  const username = newUsername('taken');
  expect((await server.call('POST', '/api/auth/register', undefined, { username, password: PASSWORD })).status).toBe(201);
  await page.getByRole('link', { name: 'Register' }).click();
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Register' }).click();
  await expect(page.getByText('A user with that username already exists.')).toBeVisible();
});

test('logging out ends the session and says so', async ({ page }) => {
  await register(page, newUsername('grace'));
  await page.getByRole('button', { name: 'Log out' }).click();
  await expect(page.getByRole('heading', { name: 'Log in' })).toBeVisible();
  await expect(notices(page).getByText('You have logged out.')).toBeVisible();
  await expect(notices(page).getByText('Your session has ended')).toHaveCount(0);
  await page.getByRole('link', { name: 'Home' }).click();
  await expect(page.getByRole('heading', { name: 'Hello, visitor' })).toBeVisible();
  await expect(session(page)).toContainText('Tokennone');
});

test('a wrong password is refused, then the right one logs in', async ({ page, server }) => {
  const username = newUsername('linus');
  await server.call('POST', '/api/auth/register', undefined, { username, password: PASSWORD });
  await page.getByRole('link', { name: 'Log in' }).click();
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill('not the password');
  await page.getByRole('button', { name: 'Log in' }).click();
  await expect(page.getByRole('alert')).toHaveText('Invalid username or password.');

  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Log in' }).click();
  await expect(page.getByRole('heading', { name: `Hello, ${username}` })).toBeVisible();
  await expect(notices(page).getByText(`Welcome back, ${username}.`)).toBeVisible();
});

test('the counter works before login and keeps its value through it', async ({ page }) => {
  await expect(counterValue(page)).toHaveText('0');
  for (const expected of ['1', '2', '3']) {
    await page.getByRole('button', { name: 'Increment' }).click();
    await expect(counterValue(page)).toHaveText(expected);
  }
  const before = await session(page).textContent();
  await register(page, newUsername('barbara'));
  await expect(counterValue(page)).toHaveText('3');
  expect(await session(page).textContent(), 'login must rotate the token').not.toEqual(before);

  // Reset is a Leptos server function: it must reach the same session as the REST calls.
  await page.getByRole('button', { name: 'Reset' }).click();
  await expect(counterValue(page)).toHaveText('0');
  await page.getByRole('button', { name: 'Increment' }).click();
  await expect(counterValue(page)).toHaveText('1');
  await page.reload();
  await expect(counterValue(page)).toHaveText('1');
  await expect(page.getByRole('heading', { name: /^Hello, barbara/ })).toBeVisible();
});

test('two quick clicks before there is a session both count, in one session', async ({ page }) => {
  await expect(counterValue(page)).toHaveText('0');
  // Holds the first increment back, so that the second click is made while it is in flight.
  let heldBack = false;
  await page.route('**/api/counter/increment', async (route) => {
    if (!heldBack) {
      heldBack = true;
      await new Promise((done) => setTimeout(done, 500));
    }
    await route.continue();
  });
  const increment = page.getByRole('button', { name: 'Increment' });
  await increment.click();
  await increment.click();
  await expect(counterValue(page)).toHaveText('2');
  await page.unroute('**/api/counter/increment');
  await page.reload();
  await expect(counterValue(page)).toHaveText('2');
});

test('the logged-in home page, for the README', async ({ page }) => {
  await page.setViewportSize({ width: 1100, height: 720 });
  await page.getByRole('button', { name: 'Increment' }).click();
  await page.getByRole('button', { name: 'Increment' }).click();
  await register(page, 'ada');
  await expect(counterValue(page)).toHaveText('2');
  const path = process.env.UPDATE_SCREENSHOT ? '../docs/home-logged-in.png' : test.info().outputPath('home.png');
  await page.screenshot({ path });
});
