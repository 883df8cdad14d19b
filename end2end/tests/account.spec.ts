// The Account page: a new password keeps this device logged in and logs out every other one.
import {
  test, expect, register, notices, newUsername, openBrowser, PASSWORD, heldToken,
} from './fixtures';

const NEW_PASSWORD = 'a much better passphrase';

test('a new password logs out the other devices and keeps this one', async ({ page, server }) => {
  const username = newUsername('account');
  await register(page, username);
  const other = await openBrowser({ cookies: false });
  try {
    const otherPage = other.pages()[0] ?? (await other.newPage());
    await otherPage.goto(server.url + '/login');
    await otherPage.getByLabel('Username').fill(username);
    await otherPage.getByLabel('Password').fill(PASSWORD);
    await otherPage.getByRole('button', { name: 'Log in' }).click();
    await expect(otherPage.getByRole('heading', { name: `Hello, ${username}` })).toBeVisible();

    const before = await heldToken(page);
    await page.getByRole('link', { name: 'Account' }).click();
    await page.getByLabel('Current password', { exact: true }).fill(PASSWORD);
    await page.getByLabel('New password', { exact: true }).fill(NEW_PASSWORD);
    await page.getByLabel('Confirm the new password', { exact: true }).fill(NEW_PASSWORD);
    await page.getByRole('button', { name: 'Change password' }).click();
    await expect(
      notices(page).getByText('Your password is changed. Your other sessions have ended.'),
    ).toBeVisible();
    await expect(page.getByLabel('Current password', { exact: true })).toHaveValue('');
    // This browser holds a new token, and is still logged in.
    expect(await heldToken(page)).not.toEqual(before);

    await page.getByRole('link', { name: 'Devices' }).click();
    const devices = page.getByRole('region', { name: 'Where you are logged in' }).getByRole('listitem');
    await expect(devices).toHaveCount(1);
    await expect(devices.getByText('This device', { exact: true })).toBeVisible();

    await otherPage.getByRole('button', { name: 'Increment' }).click();
    await expect(otherPage.getByRole('heading', { name: 'Log in' })).toBeVisible();
    await expect(notices(otherPage).getByText('Your session has ended. Please log in again.')).toBeVisible();
    await otherPage.getByLabel('Username').fill(username);
    await otherPage.getByLabel('Password').fill(NEW_PASSWORD);
    await otherPage.getByRole('button', { name: 'Log in' }).click();
    await expect(otherPage.getByRole('heading', { name: `Hello, ${username}` })).toBeVisible();
  } finally {
    await other.close();
  }
});

test('the password form explains what is wrong, field by field', async ({ page }) => {
  await register(page, newUsername('account_errors'));
  await page.getByRole('link', { name: 'Account' }).click();
  await page.getByLabel('New password', { exact: true }).fill('short');
  await page.getByLabel('Confirm the new password', { exact: true }).fill('shorter');
  await page.getByRole('button', { name: 'Change password' }).click();
  await expect(page.getByRole('alert')).toHaveText('Please correct the fields below.');
  await expect(page.getByText('This field is required.')).toBeVisible();
  await expect(page.getByText('Use at least 8 characters.')).toBeVisible();
  await expect(page.getByText('The two new passwords differ.')).toBeVisible();

  // The server's own answer for a wrong current password lands under its field.
  await page.getByLabel('Current password', { exact: true }).fill('not my password');
  await page.getByLabel('New password', { exact: true }).fill(NEW_PASSWORD);
  await page.getByLabel('Confirm the new password', { exact: true }).fill(NEW_PASSWORD);
  await page.getByRole('button', { name: 'Change password' }).click();
  await expect(page.locator('#current-password-errors')).toHaveText('The current password is wrong.');
  await expect(page.getByRole('heading', { name: 'Account' })).toBeVisible();
});
