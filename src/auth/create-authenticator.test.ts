import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../config/config-error.js';
import { loadConfig } from '../config/load-config.js';
import { createAuthenticator } from './create-authenticator.js';

const quiet = { debug() {}, info() {}, warn() {}, error() {} } as never;

function configIn(t: { after: (fn: () => void) => void }, ini: string, env: Record<string, string> = {}) {
  const cwd = mkdtempSync(join(tmpdir(), 'iris-auth-config-'));
  t.after(() => rmSync(cwd, { recursive: true, force: true }));
  writeFileSync(join(cwd, 'iris.conf'), ini);
  return loadConfig({ argv: ['--config-file', 'iris.conf'], env, cwd });
}

test('keystone: the [keystone_authtoken] defaults, and auth_uri read as www_authenticate_uri', (t) => {
  const config = configIn(
    t,
    '[paste_deploy]\nflavor = keystone\n[keystone_authtoken]\nauth_url = http://ks:5000\nauth_uri = http://public:5000/v3\n' +
      'username = glance\npassword = pw\nproject_name = service\nservice_token_roles = Service,admin\n',
  );
  const k = config.keystone_authtoken;
  assert.equal(k.www_authenticate_uri, 'http://public:5000/v3');
  assert.match(config.deprecations.join('\n'), /auth_uri .* deprecated; use \[keystone_authtoken\] www_authenticate_uri/);
  assert.deepEqual(k.service_token_roles, ['service', 'admin']);
  assert.equal(k.user_domain_name, 'Default');
  assert.equal(k.token_cache_time, 300);
  assert.equal(k.http_connect_timeout, 5);
  const auth = createAuthenticator(config, quiet);
  assert.equal(auth.flavor, 'keystone');
  assert.match(auth.description, /http:\/\/ks:5000\/v3/);
  return auth.close();
});

test('keystone without its service user stops at start, naming what is missing', (t) => {
  const config = configIn(t, '[paste_deploy]\nflavor = keystone\n[keystone_authtoken]\nauth_url = http://ks:5000/v3\nusername = glance\n');
  assert.throws(
    () => createAuthenticator(config, quiet),
    (e: unknown) => e instanceof ConfigError && /password, project_name/.test(e.message) && !/auth_url/.test(e.message),
  );
});

test('option checks: URLs, auth_type, cache time bounds', (t) => {
  assert.throws(() => configIn(t, '[keystone_authtoken]\nauth_url = keystone:5000\n'), /auth_url .*must be an http/);
  assert.throws(() => configIn(t, '[keystone_authtoken]\nauth_type = v3token\n'), /auth_type/);
  assert.throws(() => configIn(t, '[keystone_authtoken]\ntoken_cache_time = 86400\n'), /maximum 3600/);
  assert.equal(configIn(t, '[keystone_authtoken]\ntoken_cache_time = -1\n').keystone_authtoken.token_cache_time, -1);
});

test('apikey: the key file defaults to <data_dir>/api-keys.json; a damaged file stops the start', (t) => {
  const config = configIn(t, '[paste_deploy]\nflavor = apikey\n');
  assert.equal(config.iris_auth.api_key_file, join(config.data_dir, 'api-keys.json'));
  assert.equal(createAuthenticator(config, quiet).flavor, 'apikey');
  const damaged = join(config.data_dir, '..', 'keys.json');
  writeFileSync(damaged, '{"version": 1, "keys": [{"id": 1}]}');
  const broken = configIn(t, `[paste_deploy]\nflavor = apikey\n[iris_auth]\napi_key_file = ${damaged}\n`);
  assert.throws(() => createAuthenticator(broken, quiet), (e: unknown) => e instanceof ConfigError && /entry 0 is malformed/.test(e.message));
});
