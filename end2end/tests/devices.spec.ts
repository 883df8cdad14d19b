// The Devices page: a user logged in on several browsers sees them all and logs them out.
import { BrowserContext, Page } from '@playwright/test';
import {
  test, expect, register, notices, newUsername, openBrowser, watchForCookies, expectCookiesBlocked,
  PASSWORD, Backend,
} from './fixtures';

async function logInElsewhere(server: Backend, username: string): Promise<[BrowserContext, Page, () => Promise<void>]> {
  const context = await openBrowser({ cookies: false });
  const checkCookies = watchForCookies(context);
  const page = context.pages()[0] ?? (await context.newPage());
  await page.goto(server.url + '/');
  await expectCookiesBlocked(page);
  await page.getByRole('link', { name: 'Log in' }).click();
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Log in' }).click();
  await expect(page.getByRole('heading', { name: `Hello, ${username}` })).toBeVisible();
  return [context, page, checkCookies];
}

async function expectSentToLogin(page: Page): Promise<void> {
  await page.getByRole('button', { name: 'Increment' }).click();
  await expect(page.getByRole('heading', { name: 'Log in' })).toBeVisible();
  await expect(notices(page).getByText('Your session has ended. Please log in again.')).toBeVisible();
}

test('devices logged out from the Devices page are sent back to login', async ({ page, server }) => {
  const username = newUsername('devices');
  await register(page, username);
  const [phone, phonePage, checkPhone] = await logInElsewhere(server, username);
  const [tablet, tabletPage, checkTablet] = await logInElsewhere(server, username);
  try {
    await page.getByRole('link', { name: 'Devices' }).click();
    const devices = page.getByRole('region', { name: 'Where you are logged in' }).getByRole('listitem');
    await expect(devices).toHaveCount(3);
    // Every one is Debian's Chromium, named by browser and system; the raw agent is the title.
    await expect(devices.filter({ hasText: /Chrome \d+ on Linux/ })).toHaveCount(3);
    // Exact, so as not to match the other devices' "Log out this device" buttons.
    const thisDevice = page.getByText('This device', { exact: true });
    const current = devices.filter({ has: thisDevice });
    await expect(current).toHaveCount(1);
    await expect(current.getByTitle(/Chrome\/\d+/)).toHaveText(/Chrome \d+ on Linux/);
    await expect(current.getByRole('button')).toHaveCount(0);

    await devices.filter({ hasNot: thisDevice }).first()
      .getByRole('button', { name: 'Log out this device' }).click();
    await expect(notices(page).getByText('That device is logged out.')).toBeVisible();
    await expect(devices).toHaveCount(2);

    await page.getByRole('button', { name: 'Log out all other devices' }).click();
    await expect(notices(page).getByText('Every other device is logged out.')).toBeVisible();
    await expect(devices).toHaveCount(1);

    await expectSentToLogin(phonePage);
    await expectSentToLogin(tabletPage);
    await page.getByRole('link', { name: 'Home' }).click();
    await expect(page.getByRole('heading', { name: `Hello, ${username}` })).toBeVisible();
    await checkPhone();
    await checkTablet();
  } finally {
    await phone.close();
    await tablet.close();
  }
});
