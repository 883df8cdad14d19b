// What every end-to-end test stands on: the real server binary on a temporary sled data dir (or,
// with E2E_DEPLOYMENT=nginx, three instances on a Redis Cluster behind nginx), and Debian's
// Chromium with a fresh profile whose cookies are blocked.
import { test as base, expect, chromium, BrowserContext, Page } from '@playwright/test';
import { mkdtempSync, mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Server, SERVER_BIN, DIST } from './server';
import { Deployment } from './deployment';

export { Server, SERVER_BIN, DIST, Deployment };

const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

/** A Chromium profile of its own; `cookies: false` blocks all cookies, and with them Web Storage. */
export async function openBrowser(options: { cookies: boolean }): Promise<BrowserContext> {
  const profile = mkdtempSync(join(tmpdir(), 'cookieless-profile-'));
  mkdirSync(join(profile, 'Default'));
  const cookieSetting = options.cookies ? 1 : 2;
  writeFileSync(
    join(profile, 'Default', 'Preferences'),
    JSON.stringify({ profile: { default_content_setting_values: { cookies: cookieSetting } } }),
  );
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
  });
  context.on('close', () => removeLater(profile));
  return context;
}

/** Removes a folder that a just-exited Chromium may still be writing to. */
function removeLater(dir: string): void {
  setTimeout(() => {
    try {
      rmSync(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 });
    } catch (error) {
      console.warn(`could not remove ${dir}: ${error}`);
    }
  }, 200);
}

/** Fails the test if any response sets a cookie, or the browser's cookie jar holds one. */
export function watchForCookies(context: BrowserContext): () => Promise<void> {
  const offenders: string[] = [];
  const checks: Promise<void>[] = [];
  // `headers()` leaves cookie headers out; `headerValue` reads the raw ones.
  context.on('response', (response) => {
    checks.push(
      response.headerValue('set-cookie').then(
        (cookie) => {
          if (cookie !== null) offenders.push(response.url());
        },
        () => undefined,
      ),
    );
  });
  return async () => {
    await Promise.all(checks);
    expect(offenders, 'responses that set a cookie').toEqual([]);
    expect(await context.cookies(), "the browser's cookie jar").toEqual([]);
  };
}

/** Fails the test if the page's Content-Security-Policy refused anything it tried to run or load. */
export async function watchForPolicyViolations(page: Page): Promise<() => Promise<void>> {
  await page.addInitScript(() => {
    const seen: string[] = [];
    (window as unknown as { cspViolations: string[] }).cspViolations = seen;
    document.addEventListener('securitypolicyviolation', (event) => {
      seen.push(`${event.violatedDirective} refused ${event.blockedURI}`);
    });
  });
  const violations: string[] = [];
  page.on('console', (message) => {
    if (/Content Security Policy/i.test(message.text())) violations.push(message.text());
  });
  return async () => {
    const reported = await page
      .evaluate(() => (window as unknown as { cspViolations?: string[] }).cspViolations ?? [])
      .catch(() => [] as string[]);
    expect([...violations, ...reported], 'Content-Security-Policy violations').toEqual([]);
  };
}

/** Proves that this page really cannot keep a cookie (navigator.cookieEnabled proves nothing). */
export async function expectCookiesBlocked(page: Page): Promise<void> {
  const kept = await page.evaluate(() => {
    document.cookie = 'probe=1; path=/';
    return document.cookie;
  });
  expect(kept, 'document.cookie after writing one').toBe('');
  expect(await page.context().cookies()).toEqual([]);
  await expect(session(page)).toContainText('Cookies in this browser');
  await expect(session(page)).toContainText('blocked');
}

export const session = (page: Page) => page.getByRole('complementary', { name: 'Session' });
export const counterValue = (page: Page) => page.getByRole('status', { name: 'Value' });
export const notices = (page: Page) => page.getByRole('region', { name: 'Notices' });

export const PASSWORD = 'correct horse battery';

/** Registers through the UI, starting from any page. */
export async function register(page: Page, username: string): Promise<void> {
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Register' }).click();
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Register' }).click();
  await expect(page.getByRole('heading', { name: `Hello, ${username}` })).toBeVisible();
}

/** The token this page holds, read from wherever the client keeps it. */
export async function heldToken(page: Page): Promise<string | undefined> {
  return page.evaluate(() => {
    try {
      const stored = sessionStorage.getItem('x-session');
      if (stored) return stored;
    } catch {
      // Blocked with cookies: the token is in history.state.
    }
    return history.state?.xSession;
  });
}

/** What a test talks to: one server, or a deployment of several behind nginx. */
export interface Backend {
  url: string;
  start(): Promise<unknown>;
  stop(signal?: 'SIGTERM' | 'SIGKILL'): Promise<void>;
  call(method: string, path: string, token?: string, body?: unknown): Promise<Response>;
}

type Fixtures = {
  server: Backend;
  context: BrowserContext;
  page: Page;
};

let userCount = 0;
/** A username no other test in this run uses. */
export const newUsername = (stem: string) => `${stem}_${process.pid % 1000}_${userCount++}`;

/** `E2E_DEPLOYMENT=nginx` runs every test against three instances on a Redis Cluster behind
 * nginx (scripts/test runs the suite both ways); otherwise one instance on sled. */
export const behindNginx = process.env.E2E_DEPLOYMENT === 'nginx';

/** A backend a test starts for itself, with `args` as extra server flags, and how to end it. */
export type OwnBackend = { backend: Backend; dispose(): Promise<void> };

/** Starts one server on sled, or with E2E_DEPLOYMENT=nginx three instances behind nginx. */
export async function startBackend(args: string[] = []): Promise<OwnBackend> {
  if (behindNginx) {
    const deployment = await new Deployment(3, args).start();
    return {
      backend: deployment,
      dispose: async () => {
        await deployment.stop();
        deployment.remove();
      },
    };
  }
  const dataDir = mkdtempSync(join(tmpdir(), 'cookieless-data-'));
  const server = await new Server(dataDir, args).start();
  return {
    backend: server,
    dispose: async () => {
      await server.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export const test = base.extend<Fixtures>({
  server: async ({}, use) => {
    const { backend, dispose } = await startBackend();
    await use(backend);
    await dispose();
  },
  context: async ({}, use) => {
    const context = await openBrowser({ cookies: false });
    const checkCookies = watchForCookies(context);
    await use(context);
    await checkCookies();
    await context.close();
  },
  page: async ({ context, server }, use) => {
    const page = context.pages()[0] ?? (await context.newPage());
    const checkPolicy = await watchForPolicyViolations(page);
    await page.goto(server.url + '/');
    await expectCookiesBlocked(page);
    await use(page);
    await checkPolicy();
  },
});

export { expect };
