// The demo server as a process, one instance or several behind nginx.
import { spawn, ChildProcess } from 'node:child_process';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';

const ROOT = resolve(__dirname, '..', '..');
export const SERVER_BIN = process.env.SERVER_BIN ?? join(ROOT, 'target', 'debug', 'server');
export const DIST = process.env.DIST_DIR ?? join(ROOT, 'dist');

/** The demo server, started as a user would start it. */
export class Server {
  url = '';
  private child?: ChildProcess;

  private addr = '127.0.0.1:0';

  constructor(readonly dataDir: string, readonly args: string[] = [], readonly staticDir = DIST) {}

  async start(): Promise<this> {
    const child = spawn(
      SERVER_BIN,
      ['--addr', this.addr, '--data-dir', this.dataDir, '--static-dir', this.staticDir, ...this.args],
      { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, RUST_LOG: 'warn' } },
    );
    this.child = child;
    const lines = createInterface({ input: child.stdout! });
    const url = await new Promise<string>((resolveUrl, reject) => {
      child.once('exit', (code) => reject(new Error(`the server exited with ${code}`)));
      lines.on('line', (line) => {
        const match = line.match(/^Serving the demo at (http:\/\/[^/]+)\/$/);
        if (match) resolveUrl(match[1]);
      });
    });
    this.url = url;
    // Later starts reuse the port, so that pages opened before a restart still reach it.
    this.addr = new URL(url).host;
    return this;
  }

  /** Ends the process: gracefully (SIGTERM) or with no chance to flush anything (SIGKILL). */
  async stop(signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM'): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((done) => child.once('exit', done));
    child.kill(signal);
    await exited;
  }

  /** Calls the API directly, as another device holding `token` would. */
  call(method: string, path: string, token?: string, body?: unknown): Promise<Response> {
    return callApi(this.url, method, path, token, body);
  }
}

/** Calls the API at `base` as a device holding `token` (if any) would, with `body` as JSON. */
export function callApi(
  base: string, method: string, path: string, token?: string, body?: unknown,
): Promise<Response> {
  const headers: Record<string, string> = {};
  if (token) headers['x-session'] = token;
  if (body !== undefined) headers['content-type'] = 'application/json';
  return fetch(base + path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}
