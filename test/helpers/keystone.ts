/**
 * A real Keystone for the authentication tests: test/keystone/keystone.sh runs Debian's
 * python3-keystone under uWSGI on a free loopback port in a temp directory (about 5 s to
 * start), and this helper fills it over the Identity API with the test cloud: projects demo,
 * alt and service, users with admin/member/reader roles and a `glance` service user.
 *
 * @example
 *   if (!requireKeystone()) return;               // SKIP locally, failure with CI=true
 *   const keystone = await startKeystone();
 *   after(() => keystone.stop());
 *   const cloud = await keystone.populate();
 *   const { token } = await keystone.issueToken(cloud.users.alice, cloud.projects.demo);
 */
import { execFile } from 'node:child_process';
import { accessSync, constants, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort, REPO_ROOT } from './iris-server.js';
import { requireTool } from './tools.js';

const execFileAsync = promisify(execFile);
const SCRIPT = join(REPO_ROOT, 'test/keystone/keystone.sh');
const PYTHON_PLUGIN = '/usr/lib/uwsgi/plugins/python3_plugin.so';

/**
 * True when everything keystone.sh needs is installed (Debian packages python3-keystone,
 * uwsgi-core, uwsgi-plugin-python3). Otherwise a loud SKIP, or a throw when CI=true.
 */
export function requireKeystone(): boolean {
  if (!requireTool('keystone-manage (python3-keystone)', '/usr/bin/keystone-manage')) return false;
  if (!requireTool('keystone-wsgi-public (python3-keystone)', '/usr/bin/keystone-wsgi-public')) return false;
  if (!requireTool('uwsgi (uwsgi-core)', '/usr/bin/uwsgi')) return false;
  try {
    accessSync(PYTHON_PLUGIN, constants.R_OK); // a shared object: readable, not executable
    return true;
  } catch {
    const message = `SKIP: uWSGI's Python plugin not installed (${PYTHON_PLUGIN}; package uwsgi-plugin-python3)`;
    if (process.env.CI === 'true') throw new Error(`${message} — CI=true, so a missing tool is a failure (see .ci/run)`);
    console.error(`\n*** ${message} ***\n`);
    return false;
  }
}

export interface Credentials {
  readonly name: string;
  readonly password: string;
  readonly id: string;
}

export interface Project {
  readonly name: string;
  readonly id: string;
}

/** What populate() made. Every user and project is in the Default domain. */
export interface TestCloud {
  readonly projects: { readonly admin: Project; readonly demo: Project; readonly alt: Project; readonly service: Project };
  readonly users: {
    /** admin on project admin (keystone-manage bootstrap). */
    readonly admin: Credentials;
    /** member (hence also reader) on demo. */
    readonly alice: Credentials;
    /** reader on demo. */
    readonly rita: Credentials;
    /** member on alt. */
    readonly bob: Credentials;
    /** the service user: role service on project service. */
    readonly glance: Credentials;
  };
}

export interface IssuedToken {
  readonly token: string;
  /** Keystone's `{"token": …}` body. */
  readonly body: any;
}

export interface KeystoneProcess {
  /** Identity v3 base, e.g. http://127.0.0.1:PORT/v3. */
  readonly url: string;
  readonly port: number;
  readonly dir: string;
  /** Creates the test cloud (once; later calls return the same). */
  populate(): Promise<TestCloud>;
  /** A project-scoped token for `user` (password method). */
  issueToken(user: Pick<Credentials, 'name' | 'password'>, project: Pick<Project, 'name'>): Promise<IssuedToken>;
  /** A token of an application credential of `user` that expires `seconds` from now. */
  shortLivedToken(user: Credentials, project: Project, seconds: number): Promise<IssuedToken>;
  /** Revokes a token (DELETE /v3/auth/tokens). */
  revokeToken(token: string): Promise<void>;
  /** Adds an `image` service with public and internal endpoints at `url` to the catalog. */
  registerImageEndpoint(url: string): Promise<void>;
  /** A call to the Identity API as the admin. */
  admin(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }>;
  /** SIGSTOP / SIGCONT to the server: it accepts connections but answers nothing. */
  pause(): void;
  resume(): void;
  /** Stops the server (idempotent); the directory is removed. */
  stop(): Promise<void>;
  /** The server's log, for failure messages. */
  logs(): string;
}

const ADMIN_PASSWORD = 'iris-test-admin';

// Safety net, as for Iris servers: a crashed test must not leave Keystone running.
const live = new Set<number>();
process.on('exit', () => {
  for (const pid of live) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

export async function startKeystone(): Promise<KeystoneProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'iris-keystone-'));
  // Keystone's own catalog holds its URL, so the port is chosen before it starts (freePort);
  // when another process took that port meanwhile, start again on another one.
  let port = 0;
  for (let attempt = 1; ; attempt++) {
    port = await freePort();
    try {
      await execFileAsync('bash', [SCRIPT, 'start', dir, String(port), ADMIN_PASSWORD], { timeout: 120_000 });
      break;
    } catch (error) {
      const e = error as { stderr?: string; message: string };
      if (attempt < 3 && /Address already in use/.test(e.stderr ?? '')) {
        await execFileAsync('bash', [SCRIPT, 'stop', dir]).catch(() => undefined); // nothing may be left running
        rmSync(dir, { recursive: true, force: true });
        mkdirSync(dir);
        continue;
      }
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`Keystone did not start: ${e.message}\n${e.stderr ?? ''}`);
    }
  }
  const url = `http://127.0.0.1:${port}/v3`;
  const pid = Number(readFileSync(join(dir, 'uwsgi.pid'), 'utf8').trim());
  live.add(pid);

  const call = async (
    method: string,
    path: string,
    options: { token?: string; body?: unknown; headers?: Record<string, string> } = {},
  ): Promise<{ status: number; body: any; headers: Headers }> => {
    const headers: Record<string, string> = { accept: 'application/json', ...options.headers };
    if (options.token !== undefined) headers['x-auth-token'] = options.token;
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(`${url}${path}`, {
      method,
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      signal: AbortSignal.timeout(30_000),
    });
    const text = await res.text();
    let body: any = text;
    try {
      body = text ? JSON.parse(text) : null;
    } catch {
      // keep the text
    }
    return { status: res.status, body, headers: res.headers };
  };

  const passwordAuth = (user: Pick<Credentials, 'name' | 'password'>, project: Pick<Project, 'name'>) => ({
    auth: {
      identity: { methods: ['password'], password: { user: { name: user.name, domain: { id: 'default' }, password: user.password } } },
      scope: { project: { name: project.name, domain: { id: 'default' } } },
    },
  });

  const issueToken = async (user: Pick<Credentials, 'name' | 'password'>, project: Pick<Project, 'name'>): Promise<IssuedToken> => {
    const r = await call('POST', '/auth/tokens', { body: passwordAuth(user, project) });
    if (r.status !== 201) throw new Error(`token for ${user.name} on ${project.name}: ${r.status} ${JSON.stringify(r.body)}`);
    return { token: r.headers.get('x-subject-token')!, body: r.body };
  };

  let adminToken: string | undefined;
  const admin = async (method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> => {
    adminToken ??= (await issueToken({ name: 'admin', password: ADMIN_PASSWORD }, { name: 'admin' })).token;
    const r = await call(method, path, { token: adminToken, body });
    return { status: r.status, body: r.body };
  };
  const must = async (method: string, path: string, body?: unknown): Promise<any> => {
    const r = await admin(method, path, body);
    if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body;
  };

  let cloud: Promise<TestCloud> | undefined;
  const populate = async (): Promise<TestCloud> => {
    const roleId = async (name: string): Promise<string> => (await must('GET', `/roles?name=${name}`)).roles[0].id as string;
    const project = async (name: string): Promise<Project> => {
      const found = (await must('GET', `/projects?name=${name}`)).projects[0];
      if (found) return { name, id: found.id };
      return { name, id: (await must('POST', '/projects', { project: { name, domain_id: 'default' } })).project.id };
    };
    const user = async (name: string): Promise<Credentials> => {
      const password = `iris-test-${name}`;
      const made = await must('POST', '/users', { user: { name, password, domain_id: 'default' } });
      return { name, password, id: made.user.id };
    };
    const grant = (p: Project, u: Credentials, role: string) => must('PUT', `/projects/${p.id}/users/${u.id}/roles/${role}`);

    await must('POST', '/roles', { role: { name: 'service' } });
    const [member, reader, service] = await Promise.all([roleId('member'), roleId('reader'), roleId('service')]);
    const [adminProject, demo, alt, serviceProject] = await Promise.all([project('admin'), project('demo'), project('alt'), project('service')]);
    const [alice, rita, bob, glance] = await Promise.all([user('alice'), user('rita'), user('bob'), user('glance')]);
    await Promise.all([grant(demo, alice, member), grant(demo, rita, reader), grant(alt, bob, member), grant(serviceProject, glance, service)]);
    const adminUser = (await must('GET', '/users?name=admin')).users[0].id as string;
    return {
      projects: { admin: adminProject, demo, alt, service: serviceProject },
      users: { admin: { name: 'admin', password: ADMIN_PASSWORD, id: adminUser }, alice, rita, bob, glance },
    };
  };

  let stopped = false;
  const signal = (sig: NodeJS.Signals): void => {
    try {
      process.kill(-pid, sig);
    } catch {
      // gone
    }
  };

  return {
    url,
    port,
    dir,
    populate: () => (cloud ??= populate()),
    issueToken,
    async shortLivedToken(user, project, seconds) {
      const own = await issueToken(user, project);
      // Keystone stores the expiry without sub-seconds and reads a zone-less time as UTC.
      const expiresAt = new Date(Date.now() + seconds * 1000).toISOString().slice(0, 19);
      const made = await call('POST', `/users/${user.id}/application_credentials`, {
        token: own.token,
        body: { application_credential: { name: `short-${Date.now()}-${Math.random()}`, expires_at: expiresAt } },
      });
      if (made.status !== 201) throw new Error(`application credential: ${made.status} ${JSON.stringify(made.body)}`);
      const { id, secret } = made.body.application_credential;
      const r = await call('POST', '/auth/tokens', {
        body: { auth: { identity: { methods: ['application_credential'], application_credential: { id, secret } } } },
      });
      if (r.status !== 201) throw new Error(`application credential token: ${r.status} ${JSON.stringify(r.body)}`);
      return { token: r.headers.get('x-subject-token')!, body: r.body };
    },
    async revokeToken(token) {
      adminToken ??= (await issueToken({ name: 'admin', password: ADMIN_PASSWORD }, { name: 'admin' })).token;
      const r = await call('DELETE', '/auth/tokens', { token: adminToken, headers: { 'x-subject-token': token } });
      if (r.status !== 204) throw new Error(`revoke: ${r.status} ${JSON.stringify(r.body)}`);
    },
    async registerImageEndpoint(imageUrl) {
      const service = (await must('POST', '/services', { service: { type: 'image', name: 'glance' } })).service.id;
      for (const iface of ['public', 'internal']) {
        await must('POST', '/endpoints', { endpoint: { service_id: service, interface: iface, url: imageUrl, region_id: 'RegionOne' } });
      }
    },
    admin,
    pause: () => signal('SIGSTOP'),
    resume: () => signal('SIGCONT'),
    async stop() {
      if (stopped) return;
      stopped = true;
      signal('SIGCONT'); // a paused server cannot act on SIGTERM
      await execFileAsync('bash', [SCRIPT, 'stop', dir], { timeout: 30_000 }).catch(() => signal('SIGKILL'));
      live.delete(pid);
      rmSync(dir, { recursive: true, force: true });
    },
    logs() {
      try {
        return readFileSync(join(dir, 'uwsgi.log'), 'utf8');
      } catch {
        return '';
      }
    },
  };
}

/**
 * Environment for startIris() that selects flavor keystone against `keystone`, validating
 * with the `glance` service user; `overrides` are more IRIS__… variables.
 */
export function keystoneIrisEnv(keystone: KeystoneProcess, cloud: TestCloud, overrides: Record<string, string> = {}): Record<string, string> {
  return {
    IRIS__PASTE_DEPLOY__FLAVOR: 'keystone',
    IRIS__KEYSTONE_AUTHTOKEN__AUTH_URL: keystone.url,
    IRIS__KEYSTONE_AUTHTOKEN__USERNAME: cloud.users.glance.name,
    IRIS__KEYSTONE_AUTHTOKEN__PASSWORD: cloud.users.glance.password,
    IRIS__KEYSTONE_AUTHTOKEN__PROJECT_NAME: cloud.projects.service.name,
    ...overrides,
  };
}
