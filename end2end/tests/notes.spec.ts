// The notes page: the user's own data, kept across reloads, token rotations and pages.
import { test, expect, register, notices, newUsername, heldToken, PASSWORD } from './fixtures';

test('notes are added, edited and deleted, and survive a reload and a new login', async ({ page }) => {
  const username = newUsername('notes');
  await register(page, username);
  await page.getByRole('link', { name: 'Notes' }).click();
  await expect(page.getByText('No notes yet.')).toBeVisible();

  const newNote = page.getByRole('region', { name: 'New note' });
  await newNote.getByRole('button', { name: 'Add note' }).click();
  await expect(newNote.getByText('This field may not be blank.')).toBeVisible();
  await newNote.getByLabel('Title').fill('Groceries');
  await newNote.getByLabel('Body').fill('Milk');
  await newNote.getByRole('button', { name: 'Add note' }).click();
  const groceries = page.getByRole('listitem', { name: 'Groceries' });
  await expect(groceries.getByText('Milk')).toBeVisible();
  await expect(newNote.getByLabel('Title')).toHaveValue('');

  await groceries.getByRole('button', { name: 'Edit' }).click();
  await groceries.getByLabel('Body').fill('Milk, eggs');
  await groceries.getByRole('button', { name: 'Save' }).click();
  await expect(groceries.getByText('Milk, eggs')).toBeVisible();

  await page.reload();
  await expect(page.getByRole('listitem', { name: 'Groceries' }).getByText('Milk, eggs')).toBeVisible();

  // A new login rotates the token; the notes belong to the user and are still there.
  const before = await heldToken(page);
  await page.getByRole('button', { name: 'Log out' }).click();
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Log in' }).click();
  await expect(page.getByRole('heading', { name: `Hello, ${username}` })).toBeVisible();
  expect(await heldToken(page)).not.toEqual(before);
  await page.getByRole('link', { name: 'Notes' }).click();
  await page.getByRole('listitem', { name: 'Groceries' }).getByRole('button', { name: 'Delete' }).click();
  await expect(notices(page).getByText('The note is deleted.')).toBeVisible();
  await expect(page.getByText('No notes yet.')).toBeVisible();
});

test('notes come ten to a page, newest first', async ({ page, server }) => {
  await register(page, newUsername('pages'));
  const token = await heldToken(page);
  for (let number = 1; number <= 12; number++) {
    const reply = await server.call('POST', '/api/notes', token, { title: `Note ${number}`, body: '' });
    expect(reply.status).toBe(201);
  }
  await page.getByRole('link', { name: 'Notes' }).click();
  const notes = page.getByRole('region', { name: 'Your notes' }).getByRole('listitem');
  await expect(notes).toHaveCount(10);
  await expect(notes.first()).toHaveAccessibleName('Note 12');
  await expect(page.getByText('Page 1 of 2')).toBeVisible();
  await expect(page.getByRole('button', { name: 'Previous page' })).toBeDisabled();
  await page.getByRole('button', { name: 'Next page' }).click();
  await expect(notes).toHaveCount(2);
  await expect(notes.last()).toHaveAccessibleName('Note 1');
  await expect(page.getByRole('button', { name: 'Next page' })).toBeDisabled();
});
