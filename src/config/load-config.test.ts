import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CONFIG_OPTIONS, ConfigError, loadConfig } from './load-config.js';

/** A fresh working directory, removed after the test. */
function workdir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'iris-config-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function write(dir: string, relative: string, text: string): string {
  const path = join(dir, relative);
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, text);
  return path;
}

function assertConfigError(fn: () => unknown, ...patterns: RegExp[]): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof ConfigError, `expected ConfigError, got ${String(error)}`);
    for (const pattern of patterns) assert.match(error.message, pattern);
    return true;
  });
}

test('defaults', (t) => {
  const cwd = workdir(t);
  const config = loadConfig({ argv: [], env: {}, cwd });
  assert.deepEqual(config.DEFAULT, {
    bind_host: '127.0.0.1',
    bind_port: 9292,
    workers: 1,
    image_size_cap: 1099511627776,
    limit_param_default: 25,
    api_limit_max: 1000,
    show_image_direct_url: false,
    hashing_algorithm: 'sha512',
    user_storage_quota: 0,
    image_member_quota: 128,
    public_endpoint: null,
    debug: false,
  });
  assert.deepEqual(config.image_format, {
    disk_formats: ['ami', 'ari', 'aki', 'vhd', 'vhdx', 'vmdk', 'raw', 'qcow2', 'vdi', 'iso', 'ploop'],
    container_formats: ['ami', 'ari', 'aki', 'bare', 'ovf', 'ova', 'docker', 'compressed'],
    require_image_format_match: true,
    gpt_safety_checks_nonfatal: [],
  });
  assert.equal(config.data_dir, join(cwd, 'data'));
  assert.deepEqual(config.database, {
    connection: `sqlite:///${join(cwd, 'data', 'iris.sqlite')}`,
    sqlite_path: join(cwd, 'data', 'iris.sqlite'),
  });
  assert.ok(config.database.connection.startsWith('sqlite:////'));
  assert.deepEqual(config.glance_store, {
    default_store: 'file',
    stores: ['file', 'http'],
    filesystem_store_datadir: join(cwd, 'data', 'images'),
  });
  assert.deepEqual(config.paste_deploy, { flavor: 'hybrid' });
  assert.deepEqual(config.sources, []);
  assert.deepEqual(config.unknown_options, []);
  assert.deepEqual(config.deprecations, []);
});

test('every non-ignored option in CONFIG_OPTIONS appears in the Config', (t) => {
  const config = loadConfig({ argv: [], env: {}, cwd: workdir(t) }) as unknown as Record<string, unknown>;
  for (const option of CONFIG_OPTIONS) {
    const holder = option.section === 'iris' ? config : (config[option.section] as Record<string, unknown>);
    assert.equal(option.name in holder, option.ignored !== true, `${option.section}.${option.name}`);
  }
});

test('precedence: defaults < etc file < --config-file < later --config-file < IRIS_CONFIG < env', (t) => {
  const cwd = workdir(t);
  const etc = write(cwd, 'etc/iris-api.conf', '[DEFAULT]\nworkers = 2\nlimit_param_default = 2\napi_limit_max = 2\nimage_size_cap = 2\nbind_port = 2\n');
  const first = write(cwd, 'one.conf', '[DEFAULT]\nlimit_param_default = 3\napi_limit_max = 3\nimage_size_cap = 3\nbind_port = 3\n');
  const second = write(cwd, 'two.conf', '[DEFAULT]\napi_limit_max = 4\nimage_size_cap = 4\nbind_port = 4\n');
  const fromEnv = write(cwd, 'env.conf', '[DEFAULT]\nimage_size_cap = 5\nbind_port = 5\n');

  const base = loadConfig({ argv: [], env: {}, cwd });
  assert.equal(base.DEFAULT.workers, 2);
  assert.deepEqual(base.sources, [etc]);

  const config = loadConfig({
    argv: ['--config-file', 'one.conf', `--config-file=${second}`],
    env: { IRIS_CONFIG: 'env.conf', IRIS_PORT: '6' },
    cwd,
  });
  assert.equal(config.DEFAULT.workers, 2, 'etc file over default');
  assert.equal(config.DEFAULT.limit_param_default, 3, '--config-file over etc file');
  assert.equal(config.DEFAULT.api_limit_max, 4, 'later --config-file over earlier');
  assert.equal(config.DEFAULT.image_size_cap, 5, 'IRIS_CONFIG over --config-file');
  assert.equal(config.DEFAULT.bind_port, 6, 'environment over IRIS_CONFIG');
  assert.deepEqual(config.sources, [etc, first, second, fromEnv]);
  assert.equal(config.DEFAULT.debug, false, 'untouched options keep their defaults');
});

test('environment: short aliases and IRIS__SECTION__OPTION (case-insensitive; generic form wins)', (t) => {
  const cwd = workdir(t);
  const config = loadConfig({
    argv: [],
    env: {
      IRIS_HOST: '0.0.0.0',
      IRIS_PORT: '0',
      IRIS__DEFAULT__WORKERS: '2',
      iris__default__debug: 'yes',
      IRIS__GLANCE_STORE__FILESYSTEM_STORE_DATADIR: '/x',
      IRIS__Image_Format__Disk_Formats: 'raw, qcow2',
      IRIS__PASTE_DEPLOY__FLAVOR: 'noauth',
      IRIS__DEFAULT__BIND_HOST: '::',
      IRIS_UNRELATED: 'ignored entirely',
    },
    cwd,
  });
  assert.equal(config.DEFAULT.bind_port, 0);
  assert.equal(config.DEFAULT.workers, 2);
  assert.equal(config.DEFAULT.debug, false, 'lower-case prefix is not an Iris variable');
  assert.equal(config.glance_store.filesystem_store_datadir, '/x');
  assert.deepEqual(config.image_format.disk_formats, ['raw', 'qcow2']);
  assert.equal(config.paste_deploy.flavor, 'noauth');
  assert.equal(config.DEFAULT.bind_host, '::', 'IRIS__DEFAULT__BIND_HOST wins over IRIS_HOST');
  assert.deepEqual(config.unknown_options, []);
});

test('empty short environment variables count as unset', (t) => {
  const cwd = workdir(t);
  const config = loadConfig({ argv: [], env: { IRIS_PORT: '', IRIS_HOST: '', IRIS_DATA_DIR: '', IRIS_CONFIG: '' }, cwd });
  assert.equal(config.DEFAULT.bind_port, 9292);
  assert.equal(config.DEFAULT.bind_host, '127.0.0.1');
  assert.equal(config.data_dir, join(cwd, 'data'));
});

test('IRIS_DATA_DIR moves the database and the store; explicit options win', (t) => {
  const cwd = workdir(t);
  const moved = loadConfig({ argv: [], env: { IRIS_DATA_DIR: 'var/iris' }, cwd });
  assert.equal(moved.data_dir, join(cwd, 'var/iris'));
  assert.equal(moved.database.sqlite_path, join(cwd, 'var/iris/iris.sqlite'));
  assert.equal(moved.database.connection, `sqlite:///${join(cwd, 'var/iris/iris.sqlite')}`);
  assert.equal(moved.glance_store.filesystem_store_datadir, join(cwd, 'var/iris/images'));

  const file = write(
    cwd,
    'explicit.conf',
    '[database]\nconnection = sqlite:////srv/db/glance.sqlite\n[glance_store]\nfilesystem_store_datadir = store\n',
  );
  const explicit = loadConfig({ argv: ['--config-file', file], env: { IRIS_DATA_DIR: '/elsewhere' }, cwd });
  assert.equal(explicit.data_dir, '/elsewhere');
  assert.equal(explicit.database.sqlite_path, '/srv/db/glance.sqlite');
  assert.equal(explicit.glance_store.filesystem_store_datadir, join(cwd, 'store'));
});

test('[iris] data_dir in a file moves the defaults too, and IRIS_DATA_DIR beats it', (t) => {
  const cwd = workdir(t);
  write(cwd, 'etc/iris-api.conf', '[iris]\ndata_dir = /srv/iris\n');
  const fromFile = loadConfig({ argv: [], env: {}, cwd });
  assert.equal(fromFile.data_dir, '/srv/iris');
  assert.equal(fromFile.database.sqlite_path, '/srv/iris/iris.sqlite');
  assert.equal(fromFile.glance_store.filesystem_store_datadir, '/srv/iris/images');
  const fromEnv = loadConfig({ argv: [], env: { IRIS_DATA_DIR: '/env/iris' }, cwd });
  assert.equal(fromEnv.data_dir, '/env/iris');
});

test('[DEFAULT] data_dir is not an Iris option', (t) => {
  const cwd = workdir(t);
  write(cwd, 'etc/iris-api.conf', '[DEFAULT]\ndata_dir = /nope\n');
  const config = loadConfig({ argv: [], env: {}, cwd });
  assert.equal(config.data_dir, join(cwd, 'data'));
  assert.deepEqual(config.unknown_options, ['DEFAULT.data_dir']);
});

test('sqlite URL forms', (t) => {
  const cwd = workdir(t);
  const withUrl = (url: string) => loadConfig({ argv: [], env: { IRIS__DATABASE__CONNECTION: url }, cwd });
  assert.equal(withUrl('sqlite:///relative/iris.db').database.sqlite_path, join(cwd, 'relative/iris.db'));
  assert.equal(withUrl('sqlite:////abs/path/iris.db').database.sqlite_path, '/abs/path/iris.db');
  assert.equal(withUrl('sqlite+pysqlite:////abs/x.db').database.sqlite_path, '/abs/x.db');
  assert.equal(withUrl('sqlite:///relative/iris.db').database.connection, 'sqlite:///relative/iris.db', 'kept as given');

  assertConfigError(() => withUrl('postgresql://u:p@db/glance'), /PostgreSQL is not supported yet/, /\[database\] connection/);
  assertConfigError(() => withUrl('postgresql+psycopg2://db/glance'), /PostgreSQL is not supported yet/);
  assertConfigError(() => withUrl('mysql+pymysql://db/glance'), /"mysql" is not supported/);
  assertConfigError(() => withUrl('sqlite://'), /in-memory/);
  assertConfigError(() => withUrl('sqlite:///:memory:'), /in-memory/);
  assertConfigError(() => withUrl('sqlite:relative.db'), /expected sqlite:\/\/\//);
  assertConfigError(() => withUrl('/just/a/path'), /not a database URL/);
  assertConfigError(() => withUrl('sqlite:///x.db?timeout=5'), /query parameters/);
});

test('deprecated [DEFAULT] format spellings are read, with a deprecation', (t) => {
  const cwd = workdir(t);
  const file = write(cwd, 'old.conf', '[DEFAULT]\ndisk_formats = raw,qcow2\ncontainer_formats = bare\n');
  const config = loadConfig({ argv: ['--config-file', file], env: {}, cwd });
  assert.deepEqual(config.image_format.disk_formats, ['raw', 'qcow2']);
  assert.deepEqual(config.image_format.container_formats, ['bare']);
  assert.equal(config.deprecations.length, 2);
  assert.match(config.deprecations[0], /\[DEFAULT\] disk_formats .*old\.conf:2.* deprecated; use \[image_format\] disk_formats/);
  assert.match(config.deprecations[1], /\[DEFAULT\] container_formats .* use \[image_format\] container_formats/);
  assert.deepEqual(config.unknown_options, []);
});

test('the [image_format] spelling wins over the deprecated one, whatever the file order', (t) => {
  const cwd = workdir(t);
  write(cwd, 'etc/iris-api.conf', '[image_format]\ndisk_formats = iso\n');
  const old = write(cwd, 'old.conf', '[DEFAULT]\ndisk_formats = raw\n');
  const config = loadConfig({ argv: ['--config-file', old], env: {}, cwd });
  assert.deepEqual(config.image_format.disk_formats, ['iso']);
  assert.equal(config.deprecations.length, 1);
  assert.match(config.deprecations[0], /deprecated and ignored because \[image_format\] disk_formats is set/);
});

test('unknown options are reported, known-but-unused Glance options are not', (t) => {
  const cwd = workdir(t);
  const file = write(
    cwd,
    'glance-api.conf',
    [
      '[DEFAULT]',
      'log_file = /var/log/glance/api.log',
      'log_dir = /var/log/glance',
      'use_syslog = false',
      'verbose = true',
      'enabled_backends = fast:file',
      'Workers = 4',
      '[keystone_authtoken]',
      'cafile = /etc/ssl/keystone.pem',
      'memcached_servers = 127.0.0.1:11211',
      '[Glance_Store]',
      'filesystem_store_datadir = /srv/images',
      '[default]',
      'debug = true',
    ].join('\n'),
  );
  const config = loadConfig({ argv: ['--config-file', file], env: { IRIS__FOO__BAR: '1', IRIS__DEFAULT__NOPE: 'x', IRIS__X: '1' }, cwd });
  assert.deepEqual(config.unknown_options, [
    'DEFAULT.enabled_backends',
    'DEFAULT.Workers',
    'keystone_authtoken.cafile',
    'default.debug',
    'DEFAULT.nope',
    'foo.bar',
    'IRIS__X',
  ]);
  assert.equal(config.DEFAULT.workers, 1, 'option names are case-sensitive in files');
  assert.equal(config.DEFAULT.debug, false, '[default] is not [DEFAULT]');
  assert.equal(config.glance_store.filesystem_store_datadir, '/srv/images', 'other section names fold case');
});

test('malformed file is an error with file:line', (t) => {
  const cwd = workdir(t);
  const file = write(cwd, 'bad.conf', '[DEFAULT]\nworkers = 2\nthis is not valid\n');
  assertConfigError(() => loadConfig({ argv: ['--config-file', file], env: {}, cwd }), new RegExp(`${file}:3`));
  write(cwd, 'etc/iris-api.conf', 'workers = 2\n');
  assertConfigError(() => loadConfig({ argv: [], env: {}, cwd }), /etc\/iris-api\.conf:1: .*before any \[section\]/);
});

test('missing --config-file or IRIS_CONFIG file is an error; a missing etc file is not', (t) => {
  const cwd = workdir(t);
  assertConfigError(() => loadConfig({ argv: ['--config-file', 'nope.conf'], env: {}, cwd }), /nope\.conf \(from --config-file\) does not exist/);
  assertConfigError(() => loadConfig({ argv: ['--config-file=/no/such.conf'], env: {}, cwd }), /\/no\/such\.conf/);
  assertConfigError(() => loadConfig({ argv: ['--config-file'], env: {}, cwd }), /--config-file needs a path/);
  assertConfigError(() => loadConfig({ argv: [], env: { IRIS_CONFIG: 'gone.conf' }, cwd }), /gone\.conf \(from IRIS_CONFIG\)/);
  assert.deepEqual(loadConfig({ argv: ['--', '--config-file', 'after-dashes.conf'], env: {}, cwd }).sources, []);
});

test('bad values are errors naming section, option and origin', (t) => {
  const cwd = workdir(t);
  const file = write(cwd, 'values.conf', '[DEFAULT]\n\nworkers = two\n');
  assertConfigError(
    () => loadConfig({ argv: ['--config-file', file], env: {}, cwd }),
    /\[DEFAULT\] workers/,
    new RegExp(`${file}:3`),
    /"two" is not an integer/,
  );
  const withEnv = (env: NodeJS.ProcessEnv) => () => loadConfig({ argv: [], env, cwd });
  assertConfigError(withEnv({ IRIS_PORT: '65536' }), /\[DEFAULT\] bind_port/, /IRIS_PORT/, /maximum 65535/);
  assertConfigError(withEnv({ IRIS_PORT: '-1' }), /minimum 0/);
  assertConfigError(withEnv({ IRIS_PORT: '80.5' }), /not an integer/);
  assertConfigError(withEnv({ IRIS_PORT: '0x50' }), /not an integer/);
  assertConfigError(withEnv({ IRIS__DEFAULT__WORKERS: '0' }), /\[DEFAULT\] workers/, /IRIS__DEFAULT__WORKERS/, /minimum 1/);
  assertConfigError(withEnv({ IRIS__DEFAULT__LIMIT_PARAM_DEFAULT: '0' }), /limit_param_default/);
  assertConfigError(withEnv({ IRIS__DEFAULT__API_LIMIT_MAX: '0' }), /api_limit_max/);
  assertConfigError(withEnv({ IRIS__DEFAULT__IMAGE_SIZE_CAP: '-1' }), /image_size_cap/);
  assertConfigError(withEnv({ IRIS__DEFAULT__IMAGE_SIZE_CAP: '99999999999999999999' }), /too large/);
  assertConfigError(withEnv({ IRIS__DEFAULT__DEBUG: 'maybe' }), /\[DEFAULT\] debug/, /not a boolean/);
  assertConfigError(withEnv({ IRIS__DEFAULT__HASHING_ALGORITHM: 'sha9000' }), /hashing_algorithm/, /not a hash algorithm/);
  assertConfigError(withEnv({ IRIS__GLANCE_STORE__DEFAULT_STORE: 'swift' }), /default_store/, /only "file"/);
  assertConfigError(withEnv({ IRIS__DEFAULT__PUBLIC_ENDPOINT: 'ftp://x' }), /public_endpoint/, /http/);
  assertConfigError(withEnv({ IRIS__DEFAULT__BIND_HOST: '' }), /bind_host/, /empty/);
});

test('booleans and integers accept oslo.config spellings', (t) => {
  const cwd = workdir(t);
  for (const word of ['true', 'TRUE', 'yes', 'On', '1']) {
    assert.equal(loadConfig({ argv: [], env: { IRIS__DEFAULT__DEBUG: word }, cwd }).DEFAULT.debug, true, word);
  }
  for (const word of ['false', 'No', 'OFF', '0']) {
    assert.equal(loadConfig({ argv: [], env: { IRIS__DEFAULT__DEBUG: word }, cwd }).DEFAULT.debug, false, word);
  }
  assert.equal(loadConfig({ argv: [], env: { IRIS__DEFAULT__WORKERS: ' +4 ' }, cwd }).DEFAULT.workers, 4);
  const hashing = loadConfig({ argv: [], env: { IRIS__DEFAULT__HASHING_ALGORITHM: 'SHA256' }, cwd });
  assert.equal(hashing.DEFAULT.hashing_algorithm, 'sha256');
  const endpoint = loadConfig({ argv: [], env: { IRIS__DEFAULT__PUBLIC_ENDPOINT: 'https://images.example.com:9292' }, cwd });
  assert.equal(endpoint.DEFAULT.public_endpoint, 'https://images.example.com:9292');
});

test('flavor mapping', (t) => {
  const cwd = workdir(t);
  const flavor = (value: string) =>
    loadConfig({ argv: [], env: { IRIS__PASTE_DEPLOY__FLAVOR: value }, cwd }).paste_deploy.flavor;
  assert.equal(flavor(''), 'hybrid');
  assert.equal(flavor('hybrid'), 'hybrid');
  assert.equal(flavor('noauth'), 'noauth');
  assert.equal(flavor('keystone'), 'keystone');
  assert.equal(flavor('apikey'), 'apikey');
  assertConfigError(() => flavor('keystone+cachemanagement'), /\[paste_deploy\] flavor/, /not supported/);
  write(cwd, 'etc/iris-api.conf', '[paste_deploy]\nflavor =\n');
  assert.equal(loadConfig({ argv: [], env: {}, cwd }).paste_deploy.flavor, 'hybrid');
});

test('user_storage_quota units', (t) => {
  const cwd = workdir(t);
  const quota = (value: string) =>
    loadConfig({ argv: [], env: { IRIS__DEFAULT__USER_STORAGE_QUOTA: value }, cwd }).DEFAULT.user_storage_quota;
  assert.equal(quota('0'), 0);
  assert.equal(quota('1234'), 1234);
  assert.equal(quota('100B'), 100);
  assert.equal(quota('2KB'), 2048);
  assert.equal(quota('3MB'), 3 * 1024 ** 2);
  assert.equal(quota('10GB'), 10737418240);
  assert.equal(quota('1TB'), 1024 ** 4);
  assert.equal(quota('5 gb'), 5 * 1024 ** 3);
  assertConfigError(() => quota('10 GiB'), /user_storage_quota/, /not a size/);
  assertConfigError(() => quota('-1'), /not a size/);
  assertConfigError(() => quota('1.5GB'), /not a size/);
  assertConfigError(() => quota('99999999TB'), /too large/);
});

test('lists are trimmed, empty items dropped, stores kept as given', (t) => {
  const cwd = workdir(t);
  write(
    cwd,
    'etc/iris-api.conf',
    '[image_format]\ncontainer_formats = bare , ovf,,\n[glance_store]\nstores = file, http, swift\n',
  );
  const config = loadConfig({ argv: [], env: {}, cwd });
  assert.deepEqual(config.image_format.container_formats, ['bare', 'ovf']);
  assert.deepEqual(config.glance_store.stores, ['file', 'http', 'swift']);
});

test('the committed sample loads cleanly as a config file', (t) => {
  const cwd = workdir(t);
  const sample = new URL('../../etc/iris-api.conf.sample', import.meta.url).pathname;
  const config = loadConfig({ argv: ['--config-file', sample], env: {}, cwd });
  assert.deepEqual(config.sources, [sample]);
  assert.deepEqual(config.unknown_options, []);
  assert.deepEqual(config.DEFAULT, loadConfig({ argv: [], env: {}, cwd }).DEFAULT);
});

test('the result is deeply frozen', (t) => {
  const config = loadConfig({ argv: [], env: {}, cwd: workdir(t) });
  assert.ok(Object.isFrozen(config));
  assert.ok(Object.isFrozen(config.DEFAULT));
  assert.ok(Object.isFrozen(config.image_format.disk_formats));
  assert.ok(Object.isFrozen(config.sources));
  assert.throws(() => {
    (config.DEFAULT as { workers: number }).workers = 8;
  }, TypeError);
  assert.throws(() => {
    (config.image_format.disk_formats as string[]).push('evil');
  }, TypeError);
  assert.throws(() => {
    (config as { data_dir: string }).data_dir = '/tmp';
  }, TypeError);
  assert.equal(config.DEFAULT.workers, 1);
});
