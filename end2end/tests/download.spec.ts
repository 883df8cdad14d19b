// The notes as a Markdown download: fetched with the header by default (no cookie, ever); with
// --transport header-or-cookie in a browser that keeps cookies, a plain link the browser follows
// by itself, carried by the cookie, which no other site can use to write.
import { createServer } from 'node:http';
import { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { Download, Page } from '@playwright/test';
import {
  test, expect, register, newUsername, openBrowser, startBackend, watchForCookies,
} from './fixtures';

async function addNote(page: Page, title: string): Promise<void> {
  await page.getByRole('link', { name: 'Notes' }).click();
  const newNote = page.getByRole('region', { name: 'New note' });
  await newNote.getByLabel('Title').fill(title);
  await newNote.getByLabel('Body').fill('Measure twice.');
  await newNote.getByRole('button', { name: 'Add note' }).click();
  await expect(page.getByRole('listitem', { name: title })).toBeVisible();
}

async function contents(download: Download): Promise<string> {
  expect(download.suggestedFilename()).toBe('notes.md');
  return readFileSync(await download.path(), 'utf8');
}

test('by default the SPA fetches the download with the header, and no cookie is set', async ({ page }) => {
  const username = newUsername('ada');
  await register(page, username);
  await addNote(page, 'Engine plans');
  const download = page.getByRole('region', { name: 'Download' });
  await expect(download.getByRole('button', { name: 'Download your notes' })).toBeVisible();
  await expect(download.getByRole('link')).toHaveCount(0);
  const saved = page.waitForEvent('download');
  await download.getByRole('button', { name: 'Download your notes' }).click();
  const markdown = await contents(await saved);
  expect(markdown).toContain(`# Notes of ${username}`);
  expect(markdown).toContain('## Engine plans');
});

test('in a browser that keeps cookies, the default transport still fetches with the header and sets none', async ({ server }) => {
  const context = await openBrowser({ cookies: true });
  const checkCookies = watchForCookies(context);
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    await page.goto(server.url + '/');
    const username = newUsername('mary');
    await register(page, username);
    await addNote(page, 'Difference engine');
    const download = page.getByRole('region', { name: 'Download' });
    // A plain link would carry no session here: the SPA offers the fetched file instead.
    await expect(download.getByRole('link')).toHaveCount(0);
    const saved = page.waitForEvent('download');
    await download.getByRole('button', { name: 'Download your notes' }).click();
    expect(await contents(await saved)).toContain('## Difference engine');
    await expect(download.getByRole('link', { name: 'A page to print' })).toHaveCount(0);
    // Opened by the browser itself, the server's page sees no session: only the header carries it.
    const direct = await page.goto(server.url + '/api/notes/printable');
    expect(direct?.status()).toBe(401);
    await checkCookies();
  } finally {
    await context.close();
  }
});

test('with header-or-cookie, a plain link carries the session, and another site cannot write with it', async () => {
  const { backend, dispose } = await startBackend(['--transport', 'header-or-cookie']);
  const context = await openBrowser({ cookies: true });
  // A page of another origin (a sibling on loopback: the same site, as a subdomain would be)
  // whose form posts to the app by itself.
  const attacker = createServer((_, response) => {
    response.writeHead(200, { 'content-type': 'text/html' });
    response.end(`<!doctype html><title>prize</title>
      <form method="post" action="${backend.url}/api/counter/increment"><button>Claim your prize</button></form>`);
  });
  await new Promise<void>((listening) => attacker.listen(0, '127.0.0.1', listening));
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    await page.goto(backend.url + '/');
    const username = newUsername('hedy');
    await register(page, username);
    const cookies = await context.cookies();
    expect(cookies.map((cookie) => [cookie.name, cookie.httpOnly, cookie.secure, cookie.sameSite]))
      .toEqual([['__Host-session', true, true, 'Lax']]);
    await page.getByRole('button', { name: 'Increment' }).click();
    await expect(page.getByRole('status', { name: 'Value' })).toHaveText('1');

    await addNote(page, 'Frequency hopping');
    const link = page.getByRole('region', { name: 'Download' }).getByRole('link', { name: 'Download your notes' });
    await expect(link).toHaveAttribute('href', /\/api\/notes\/export$/);
    const saved = page.waitForEvent('download');
    await link.click();
    expect(await contents(await saved)).toContain('## Frequency hopping');

    // A page the server renders, which the browser opens by itself, sees the session too.
    const printLink = page.getByRole('region', { name: 'Download' }).getByRole('link', { name: 'A page to print' });
    const [printed] = await Promise.all([context.waitForEvent('page'), printLink.click()]);
    await expect(printed.getByRole('heading', { name: `Notes of ${username}` })).toBeVisible();
    await expect(printed.getByRole('heading', { name: 'Frequency hopping' })).toBeVisible();
    await printed.close();

    const other = await context.newPage();
    await other.goto(`http://127.0.0.1:${(attacker.address() as AddressInfo).port}/`);
    const answered = other.waitForResponse((response) => response.url().endsWith('/api/counter/increment'));
    await other.getByRole('button', { name: 'Claim your prize' }).click();
    const refused = await answered;
    expect(refused.status()).toBe(403);
    expect(await refused.json()).toMatchObject({ code: 'cross_site_request' });
    await page.goto(backend.url + '/');
    await expect(page.getByRole('status', { name: 'Value' })).toHaveText('1');
  } finally {
    attacker.close();
    await context.close();
    await dispose();
  }
});
