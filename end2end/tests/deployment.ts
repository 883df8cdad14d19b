// The demo as it is scaled out: several server instances on one Redis Cluster, behind nginx from
// Debian's packages, round-robin, on loopback. nginx runs as an ordinary process in a folder of
// its own; the README's "Behind a load balancer" shows the same configuration.
import { spawn, ChildProcess } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { createServer, AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Server, callApi } from './server';

const NGINX = process.env.NGINX ?? '/usr/sbin/nginx';

/** The Redis Cluster the deployment runs on: scripts/test starts one and names it. */
export function clusterUrl(): string {
  const url = process.env.REDIS_CLUSTER_URL;
  if (!url) {
    throw new Error('REDIS_CLUSTER_URL names no Redis Cluster: run the suite through scripts/test');
  }
  return url;
}

/** A loopback port nobody listens on right now. */
async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((listening) => probe.listen(0, '127.0.0.1', listening));
  const { port } = probe.address() as AddressInfo;
  await new Promise((closed) => probe.close(closed));
  return port;
}

/** nginx's configuration: every request to any instance, in turn; one that refuses or fails to
 * connect is passed to the next (never a request an instance has begun to answer). */
export function nginxConfig(dir: string, port: number, upstreams: string[]): string {
  return `
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 512; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  upstream demo {
${upstreams.map((host) => `    server ${host} max_fails=1 fail_timeout=5s;`).join('\n')}
    keepalive 16;
    # Shorter than the instances' --header-timeout (10 s), which closes idle connections: nginx
    # must not reuse a connection an instance is closing.
    keepalive_timeout 5s;
  }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://demo;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $http_host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_next_upstream error timeout;
      proxy_connect_timeout 2s;
    }
  }
}
`;
}

/** Three instances on the cluster behind nginx, used as one server is. */
export class Deployment {
  url = '';
  readonly instances: Server[];
  private nginx?: ChildProcess;
  private port?: number;
  private readonly dir: string;

  constructor(count = 3, args: string[] = []) {
    this.dir = mkdtempSync(join(tmpdir(), 'cookieless-deployment-'));
    // A prefix of its own: tests must not see each other's users.
    const prefix = `e2e:${process.pid}:${Date.now()}:`;
    this.instances = Array.from({ length: count }, (_, index) => {
      const dataDir = join(this.dir, `instance-${index}`);
      mkdirSync(dataDir);
      return new Server(dataDir, [
        '--store', clusterUrl(),
        '--redis-prefix', prefix,
        // nginx is the one proxy in front: the client's address is the last X-Forwarded-For entry.
        '--client-ip-header', 'X-Forwarded-For',
        '--trusted-hops', '1',
        ...args,
      ]);
    });
  }

  async start(): Promise<this> {
    await Promise.all(this.instances.map((instance) => instance.start()));
    // A restart keeps the port, so that pages opened before it still reach the deployment.
    const port = (this.port ??= await freePort());
    const upstreams = this.instances.map((instance) => new URL(instance.url).host);
    const config = join(this.dir, 'nginx.conf');
    writeFileSync(config, nginxConfig(this.dir, port, upstreams));
    const nginx = spawn(
      NGINX,
      ['-p', this.dir, '-c', config, '-e', join(this.dir, 'error.log'), '-g', 'daemon off; master_process off;'],
      { stdio: ['ignore', 'inherit', 'inherit'] },
    );
    this.nginx = nginx;
    this.url = `http://127.0.0.1:${port}`;
    const started = Date.now();
    for (;;) {
      if (nginx.exitCode !== null) throw new Error(`nginx exited with ${nginx.exitCode}`);
      const ready = await fetch(this.url + '/healthz').then((r) => r.ok, () => false);
      if (ready) return this;
      if (Date.now() - started > 10_000) throw new Error('nginx did not answer within 10 s');
      await new Promise((later) => setTimeout(later, 50));
    }
  }

  async stop(signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM'): Promise<void> {
    await Promise.all(this.instances.map((instance) => instance.stop(signal)));
    const nginx = this.nginx;
    if (nginx && nginx.exitCode === null && nginx.signalCode === null) {
      const exited = new Promise((done) => nginx.once('exit', done));
      nginx.kill('SIGTERM');
      await exited;
    }
  }

  /** Removes the instances' data and nginx's files, once stopped for good. */
  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** Calls the API through nginx, as another device holding `token` would. */
  call(method: string, path: string, token?: string, body?: unknown): Promise<Response> {
    return callApi(this.url, method, path, token, body);
  }
}
