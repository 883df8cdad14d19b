// The demo's first load as a user on a slow mobile link feels it: Debian's Chromium with cookies
// blocked, the network emulated at 1.6 Mbit/s down, 750 kbit/s up and 150 ms of latency, the CPU
// slowed four times (over CDP). Reports the bytes on the wire and the time until the Increment
// button works (clicked, and its answer shown), on a first visit and on a repeat visit with the
// browser's cache warm, against the targets of issue 17. A benchmark, run by scripts/bench: its
// figures vary with the machine, so it checks nothing in CI.
//
// Usage: node bench/first-load.mjs [server binary] [dist dir]
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, readdirSync, statSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import playwright from '../end2end/node_modules/@playwright/test/index.js';

const { chromium } = playwright;
const root = resolve(fileURLToPath(import.meta.url), '..', '..');
const serverBin = process.argv[2] ?? join(root, 'target', 'release', 'server');
const dist = process.argv[3] ?? join(root, 'dist');
const LINK = { latency: 150, downloadThroughput: 1.6e6 / 8, uploadThroughput: 750e3 / 8 };
const TARGETS = { firstBytes: 170 * 1024, firstMs: 2000, repeatMs: 500, codeBrotli: 150 * 1024 };

// The SPA's code as a browser that takes brotli downloads it: the wasm and its JavaScript glue.
function codeBrotliBytes() {
  const code = readdirSync(dist).filter((name) => /\.(wasm|js)\.br$/.test(name));
  if (code.length === 0) throw new Error(`no precompressed wasm or JavaScript in ${dist}`);
  return code.reduce((sum, name) => sum + statSync(join(dist, name)).size, 0);
}

async function startServer() {
  const data = mkdtempSync(join(tmpdir(), 'first-load-data-'));
  const child = spawn(
    serverBin,
    ['--addr', '127.0.0.1:0', '--store', 'memory', '--data-dir', data, '--static-dir', dist],
    { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, RUST_LOG: 'warn' } },
  );
  const url = await new Promise((found, failed) => {
    child.once('exit', (code) => failed(new Error(`the server exited with ${code}`)));
    createInterface({ input: child.stdout }).on('line', (line) => {
      const match = line.match(/^Serving the demo at (http:\/\/[^/]+)\/$/);
      if (match) found(match[1]);
    });
  });
  return { url, stop: () => { child.kill('SIGTERM'); rmSync(data, { recursive: true, force: true }); } };
}

async function openBrowser() {
  const profile = mkdtempSync(join(tmpdir(), 'first-load-profile-'));
  mkdirSync(join(profile, 'Default'));
  writeFileSync(
    join(profile, 'Default', 'Preferences'),
    JSON.stringify({ profile: { default_content_setting_values: { cookies: 2 } } }),
  );
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run'],
  });
  return { context, remove: () => rmSync(profile, { recursive: true, force: true }) };
}

/** One visit: bytes on the wire, and milliseconds until a click on Increment shows its answer. */
async function visit(page, cdp, url) {
  let bytes = 0;
  const count = (event) => { bytes += event.encodedDataLength; };
  cdp.on('Network.loadingFinished', count);
  const started = performance.now();
  await page.goto(url + '/', { waitUntil: 'commit' });
  const value = page.getByRole('status', { name: 'Value' });
  const increment = page.getByRole('button', { name: 'Increment' });
  await page.waitForFunction(() => /^\d+$/.test(document.querySelector('output')?.textContent ?? ''));
  const before = Number(await value.textContent());
  await increment.click();
  await page.waitForFunction(
    (expected) => document.querySelector('output')?.textContent === String(expected),
    before + 1,
  );
  const ms = performance.now() - started;
  // Whatever was still on its way when the page became usable counts too.
  await page.waitForLoadState('networkidle');
  cdp.off('Network.loadingFinished', count);
  return { bytes, ms };
}

const server = await startServer();
const { context, remove } = await openBrowser();
try {
  const page = context.pages()[0] ?? (await context.newPage());
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.emulateNetworkConditions', { offline: false, ...LINK });
  await cdp.send('Emulation.setCPUThrottlingRate', { rate: 4 });
  const first = await visit(page, cdp, server.url);
  const repeat = await visit(page, cdp, server.url);
  const verdict = (ok) => (ok ? 'met' : 'missed');
  console.log('| Visit | On the wire | Until Increment works | Target |');
  console.log('| --- | --- | --- | --- |');
  console.log(
    `| first | ${(first.bytes / 1024).toFixed(1)} KB | ${first.ms.toFixed(0)} ms | ` +
      `≤ 170 KB: ${verdict(first.bytes <= TARGETS.firstBytes)}; < 2 s: ${verdict(first.ms < TARGETS.firstMs)} |`,
  );
  console.log(
    `| repeat | ${(repeat.bytes / 1024).toFixed(1)} KB | ${repeat.ms.toFixed(0)} ms | ` +
      `< 0.5 s: ${verdict(repeat.ms < TARGETS.repeatMs)} |`,
  );
  const code = codeBrotliBytes();
  console.log(
    `\nThe wasm and JavaScript in brotli: ${(code / 1024).toFixed(1)} KB ` +
      `(≤ 150 KB: ${verdict(code <= TARGETS.codeBrotli)}).`,
  );
} finally {
  await context.close();
  remove();
  server.stop();
}
