// Sensitive actions ask for the password again when the session's proof of it is old, and then
// go on: the user never starts over.
import { Page } from '@playwright/test';
import { test, expect, register, notices, newUsername, startBackend, PASSWORD } from './fixtures';

async function addNote(page: Page, title: string): Promise<void> {
  const newNote = page.getByRole('region', { name: 'New note' });
  await newNote.getByLabel('Title').fill(title);
  await newNote.getByRole('button', { name: 'Add note' }).click();
  await expect(page.getByRole('listitem', { name: title })).toBeVisible();
}

test('deleting a note with a stale proof asks for the password, then deletes it', async ({ page }) => {
  // The server's clock cannot be moved from here: a proof that goes stale in two seconds.
  const { backend, dispose } = await startBackend(['--reauth-after', '2s']);
  try {
    await page.goto(backend.url + '/');
    await register(page, newUsername('reauth'));
    await page.getByRole('link', { name: 'Notes' }).click();
    await addNote(page, 'Old plans');
    await addNote(page, 'Keep me');
    await page.waitForTimeout(2_100);

    const dialog = page.getByRole('dialog', { name: 'Confirm your password' });
    await page.getByRole('listitem', { name: 'Old plans' }).getByRole('button', { name: 'Delete' }).click();
    await expect(dialog).toBeVisible();
    await expect(dialog.getByLabel('Password')).toBeFocused();
    // Escape closes it, and nothing is deleted.
    await page.keyboard.press('Escape');
    await expect(dialog).toBeHidden();
    await expect(page.getByRole('listitem', { name: 'Old plans' })).toBeVisible();

    await page.getByRole('listitem', { name: 'Old plans' }).getByRole('button', { name: 'Delete' }).click();
    await dialog.getByLabel('Password').fill('not my password');
    await dialog.getByRole('button', { name: 'Confirm' }).click();
    await expect(dialog.getByRole('alert')).toHaveText('The password is wrong.');
    await dialog.getByLabel('Password').fill(PASSWORD);
    await dialog.getByRole('button', { name: 'Confirm' }).click();
    await expect(dialog).toBeHidden();
    await expect(page.getByRole('listitem', { name: 'Old plans' })).toHaveCount(0);
    await expect(notices(page)).toContainText('The note is deleted.');
    await expect(page.getByRole('listitem', { name: 'Keep me' })).toBeVisible();
  } finally {
    await dispose();
  }
});
