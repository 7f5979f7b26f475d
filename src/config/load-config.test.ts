import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CONFIG_OPTIONS, ConfigError, loadConfig } from './load-config.js';
import type { BackendConfig, Config } from './config.js';

/** A fresh working directory, removed after the test. */
/** The directory of a file store (undefined for another type). */
function dirOf(backend: BackendConfig | undefined): string | undefined {
  return backend?.type === 'file' ? backend.filesystem_store_datadir : undefined;
}

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
    client_socket_timeout: 900,
    workers: 1,
    image_size_cap: 1099511627776,
    limit_param_default: 25,
    api_limit_max: 1000,
    show_image_direct_url: false,
    show_multiple_locations: false,
    hashing_algorithm: 'sha512',
    user_storage_quota: 0,
    image_member_quota: 128,
    image_property_quota: 128,
    image_tag_quota: 128,
    image_location_quota: 10,
    do_secure_hash: true,
    http_retries: 3,
    use_keystone_limits: false,
    public_endpoint: null,
    worker_self_reference_url: null,
    debug: false,
    log_file: null,
    log_dir: null,
    use_stderr: false,
    log_date_format: '%Y-%m-%d %H:%M:%S',
    use_syslog: false,
    syslog_log_facility: 'LOG_USER',
    enabled_backends: '',
    enabled_import_methods: ['glance-direct', 'web-download', 'copy-image'],
    node_staging_uri: `file://${join(cwd, 'data', 'staging')}`,
    image_cache_dir: null,
    image_cache_max_size: 10737418240,
    image_cache_stall_time: 86400,
    image_cache_driver: 'centralized_db',
    cache_prefetcher_interval: 300,
    property_protection_file: null,
    property_protection_rule_format: 'roles',
    delayed_delete: false,
    scrub_time: 0,
    scrub_pool_size: 1,
    wakeup_time: 300,
    transport_url: 'rabbit://',
    control_exchange: 'glance',
    disabled_notifications: [],
    default_publisher_id: 'image.localhost',
  });
  assert.deepEqual(config.oslo_messaging_notifications, { driver: [], transport_url: null, topics: ['notifications'], retry: -1 });
  assert.deepEqual(config.oslo_policy, { policy_file: 'policy.yaml', enforce_new_defaults: false, enforce_scope: false });
  assert.deepEqual(config.image_format, {
    disk_formats: ['ami', 'ari', 'aki', 'vhd', 'vhdx', 'vmdk', 'raw', 'qcow2', 'vdi', 'iso', 'ploop'],
    container_formats: ['ami', 'ari', 'aki', 'bare', 'ovf', 'ova', 'docker', 'compressed'],
    require_image_format_match: true,
    gpt_safety_checks_nonfatal: [],
  });
  assert.equal(config.data_dir, join(cwd, 'data'));
  assert.equal(config.body_idle_timeout, 60);
  assert.equal(config.task_lease_seconds, 300);
  assert.equal(config.image_cache_min_free_space, 1073741824);
  assert.deepEqual(config.database, {
    connection: `sqlite:///${join(cwd, 'data', 'iris.sqlite')}`,
    sqlite_path: join(cwd, 'data', 'iris.sqlite'),
    max_pool_size: 5,
    max_overflow: 50,
    pool_timeout: 30,
    connection_recycle_time: 3600,
    max_retries: 10,
    retry_interval: 10,
    mysql_sql_mode: 'TRADITIONAL',
  });
  assert.ok(config.database.connection.startsWith('sqlite:////'));
  const { default_backend, default_store, stores, filesystem_store_datadir } = config.glance_store;
  assert.equal(config.glance_store.swift_store_container, 'glance', 'the store types\' groups are read too');
  assert.equal(config.partial_write_max_age, 86400);
  assert.deepEqual({ default_backend, default_store, stores, filesystem_store_datadir }, {
    default_backend: '',
    default_store: 'file',
    stores: ['file'],
    filesystem_store_datadir: join(cwd, 'data', 'images'),
  });
  assert.deepEqual(config.paste_deploy, { flavor: 'hybrid' });
  assert.deepEqual(config.backends, [
    {
      id: 'file',
      type: 'file',
      filesystem_store_datadir: join(cwd, 'data', 'images'),
      store_description: null,
      legacy: true,
    },
  ]);
  assert.equal(config.multi_store, false);
  assert.equal(config.default_backend_id, 'file');
  assert.equal(config.staging_dir, join(cwd, 'data', 'staging'));
  assert.deepEqual(config.os_glance_staging_store, { filesystem_store_datadir: join(cwd, 'data', 'staging') });
  assert.deepEqual(config.os_glance_tasks_store, { filesystem_store_datadir: join(cwd, 'data', 'tasks_work_dir') });
  assert.deepEqual(config.task, { task_time_to_live: 48 });
  assert.deepEqual(config.import_filtering_opts, {
    allowed_schemes: ['http', 'https'],
    disallowed_schemes: [],
    allowed_hosts: [],
    disallowed_hosts: [],
    allowed_ports: [80, 443],
    disallowed_ports: [],
    allow_private_networks: false,
    allow_loopback: false,
  });
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

/** Compile-time equality of two types (typecheck fails on a `false`). */
type Same<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function sameType<Check extends true>(check: Check): Check {
  return check;
}

test("the Config type is the table's: narrowed checks, [iris] at the top, ignored options absent", (t) => {
  type C = Config;
  sameType<Same<C['DEFAULT']['bind_port'], number>>(true);
  sameType<Same<C['DEFAULT']['public_endpoint'], string | null>>(true);
  sameType<Same<C['DEFAULT']['property_protection_rule_format'], 'roles' | 'policies'>>(true);
  sameType<Same<C['DEFAULT']['enabled_import_methods'], readonly string[]>>(true);
  sameType<Same<C['paste_deploy']['flavor'], 'hybrid' | 'noauth' | 'keystone' | 'apikey'>>(true);
  sameType<Same<C['glance_store']['stores'], readonly ('file' | 'swift' | 's3' | 'http' | 'rbd')[]>>(true);
  sameType<Same<C['import_filtering_opts']['allowed_ports'], readonly number[]>>(true);
  sameType<Same<C['oslo_limit']['project_domain_name'], string>>(true);
  sameType<Same<C['data_dir'], string>>(true);
  sameType<Same<'iris' extends keyof C ? 1 : 0, 0>>(true);
  sameType<Same<'verbose' extends keyof C['DEFAULT'] ? 1 : 0, 0>>(true);
  sameType<Same<'region_name' extends keyof C['keystone_authtoken'] ? 1 : 0, 0>>(true);
  sameType<Same<keyof C['cors'], 'allowed_origin' | 'allow_credentials' | 'expose_headers' | 'max_age' | 'allow_methods' | 'allow_headers'>>(true);
  // And the values are what the types say.
  const config = loadConfig({ argv: [], env: { IRIS__IMPORT_FILTERING_OPTS__ALLOWED_PORTS: '80,8080' }, cwd: workdir(t) });
  assert.deepEqual(config.import_filtering_opts.allowed_ports, [80, 8080]);
  assert.equal(config.paste_deploy.flavor, 'hybrid');
  assert.equal(config.DEFAULT.public_endpoint, null);
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

test('bind_host: Glance\'s 0.0.0.0 for authenticating flavors, loopback for trusting ones, explicit wins', (t) => {
  const cwd = workdir(t);
  const host = (env: NodeJS.ProcessEnv) => loadConfig({ argv: [], env, cwd }).DEFAULT.bind_host;
  assert.equal(host({ IRIS__PASTE_DEPLOY__FLAVOR: 'keystone' }), '0.0.0.0');
  assert.equal(host({ IRIS__PASTE_DEPLOY__FLAVOR: 'apikey' }), '0.0.0.0');
  assert.equal(host({ IRIS__PASTE_DEPLOY__FLAVOR: 'hybrid' }), '127.0.0.1');
  assert.equal(host({ IRIS__PASTE_DEPLOY__FLAVOR: 'noauth' }), '127.0.0.1');
  assert.equal(host({}), '127.0.0.1');
  assert.equal(host({ IRIS__PASTE_DEPLOY__FLAVOR: 'keystone', IRIS_HOST: '127.0.0.1' }), '127.0.0.1');
  const file = write(cwd, 'k.conf', '[paste_deploy]\nflavor = apikey\n[DEFAULT]\nbind_host = 10.0.0.1\n');
  assert.equal(loadConfig({ argv: ['--config-file', file], env: {}, cwd }).DEFAULT.bind_host, '10.0.0.1');
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

test('database URL forms', (t) => {
  const cwd = workdir(t);
  const withUrl = (url: string) => loadConfig({ argv: [], env: { IRIS__DATABASE__CONNECTION: url }, cwd });
  assert.equal(withUrl('sqlite:///relative/iris.db').database.sqlite_path, join(cwd, 'relative/iris.db'));
  assert.equal(withUrl('sqlite:////abs/path/iris.db').database.sqlite_path, '/abs/path/iris.db');
  assert.equal(withUrl('sqlite+pysqlite:////abs/x.db').database.sqlite_path, '/abs/x.db');
  assert.equal(withUrl('sqlite:///relative/iris.db').database.connection, 'sqlite:///relative/iris.db', 'kept as given');

  // Server URLs are kept as given; there is no SQLite file.
  for (const url of ['postgresql://u:p@db/glance', 'postgresql+psycopg2://db/glance', 'mysql+pymysql://u:p@db/glance?charset=utf8mb4']) {
    assert.equal(withUrl(url).database.connection, url);
    assert.equal(withUrl(url).database.sqlite_path, '');
  }
  assertConfigError(() => withUrl('oracle://u:p@db/glance'), /"oracle" is not supported/, /\[database\] connection/);
  assertConfigError(() => withUrl('postgresql://u:p@db'), /names no database/);
  assertConfigError(() => withUrl('mysql://u:p@db/glance?charset=latin1'), /charset latin1 is not supported/);
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
  assert.match(config.deprecations[0] ?? '', /\[DEFAULT\] disk_formats .*old\.conf:2.* deprecated; use \[image_format\] disk_formats/);
  assert.match(config.deprecations[1] ?? '', /\[DEFAULT\] container_formats .* use \[image_format\] container_formats/);
  assert.deepEqual(config.unknown_options, []);
});

test('the [image_format] spelling wins over the deprecated one, whatever the file order', (t) => {
  const cwd = workdir(t);
  write(cwd, 'etc/iris-api.conf', '[image_format]\ndisk_formats = iso\n');
  const old = write(cwd, 'old.conf', '[DEFAULT]\ndisk_formats = raw\n');
  const config = loadConfig({ argv: ['--config-file', old], env: {}, cwd });
  assert.deepEqual(config.image_format.disk_formats, ['iso']);
  assert.equal(config.deprecations.length, 1);
  assert.match(config.deprecations[0] ?? '', /deprecated and ignored because \[image_format\] disk_formats is set/);
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
      '[fast]',
      'filesystem_store_datadir = /srv/fast',
      'filesystem_store_chunk_size = 65536',
      '[slow]',
      'filesystem_store_datadir = /srv/slow',
      '[keystone_authtoken]',
      'cafile = /etc/ssl/keystone.pem',
      'memcached_servers = 127.0.0.1:11211',
      '[Glance_Store]',
      'filesystem_store_datadir = /srv/images',
      'default_backend = fast',
      '[default]',
      'debug = true',
    ].join('\n'),
  );
  const config = loadConfig({ argv: ['--config-file', file], env: { IRIS__FOO__BAR: '1', IRIS__DEFAULT__NOPE: 'x', IRIS__X: '1' }, cwd });
  assert.deepEqual(config.unknown_options, [
    'DEFAULT.Workers',
    'fast.filesystem_store_chunk_size',
    'slow.filesystem_store_datadir',
    'keystone_authtoken.cafile',
    'default.debug',
    'DEFAULT.nope',
    'foo.bar',
    'IRIS__X',
  ]);
  assert.equal(config.DEFAULT.workers, 1, 'option names are case-sensitive in files');
  assert.equal(config.DEFAULT.debug, false, '[default] is not [DEFAULT]');
  assert.equal(config.glance_store.filesystem_store_datadir, '/srv/images', 'other section names fold case');
  assert.equal(config.DEFAULT.enabled_backends, 'fast:file', 'enabled_backends is a known option now');
  assert.equal(dirOf(config.backends[0]), '/srv/fast');
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
  assertConfigError(withEnv({ IRIS__GLANCE_STORE__DEFAULT_STORE: 'cinder' }), /default_store/, /"cinder" is not available in Iris yet/);
  assertConfigError(withEnv({ IRIS__GLANCE_STORE__DEFAULT_STORE: 'swift' }), /default_store/, /"swift" is not one of \[glance_store\] stores \(file\)/);
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

test('lists are trimmed, empty items dropped', (t) => {
  const cwd = workdir(t);
  write(cwd, 'etc/iris-api.conf', '[image_format]\ncontainer_formats = bare , ovf,,\n[glance_store]\nstores = file, ,\n');
  const config = loadConfig({ argv: [], env: {}, cwd });
  assert.deepEqual(config.image_format.container_formats, ['bare', 'ovf']);
  assert.deepEqual(config.glance_store.stores, ['file']);
});

test('[glance_store] stores and default_store: a Glance store type Iris lacks stops the start, named', (t) => {
  const cwd = workdir(t);
  for (const type of ['cinder', 'vmware']) {
    assertConfigError(() => loadConfig({ argv: [], env: { IRIS__GLANCE_STORE__STORES: `file,${type}` }, cwd }), new RegExp(`"${type}" is not available in Iris yet; Iris has file, swift, s3, http, rbd`));
    assertConfigError(() => loadConfig({ argv: [], env: { IRIS__GLANCE_STORE__DEFAULT_STORE: type }, cwd }), /default_store/, new RegExp(`"${type}" is not available in Iris yet`));
  }
  assertConfigError(() => loadConfig({ argv: [], env: { IRIS__GLANCE_STORE__STORES: 'floppy' }, cwd }), /"floppy" is not a store type/);
  assert.deepEqual(loadConfig({ argv: [], env: { IRIS__GLANCE_STORE__STORES: 'file' }, cwd }).glance_store.stores, ['file']);
});

test("[glance_store] stores = file,http (the install guide's line): one store per type, file takes uploads", (t) => {
  const cwd = workdir(t);
  const file = write(cwd, 'guide.conf', '[glance_store]\nstores = file,http\ndefault_store = file\nhttps_insecure = false\nhttp_proxy_information = https:http://proxy:3128\n');
  const config = loadConfig({ argv: ['--config-file', file], env: {}, cwd });
  assert.deepEqual(config.backends.map((b) => [b.id, b.type, b.legacy]), [['file', 'file', true], ['http', 'http', true]]);
  assert.equal(config.default_backend_id, 'file');
  assert.equal(config.multi_store, false);
  assert.deepEqual(config.backends[1], {
    id: 'http',
    type: 'http',
    store_description: null,
    legacy: true,
    options: { https_insecure: false, https_ca_certificates_file: null, http_proxy_information: { https: 'http://proxy:3128' } },
  });
  assertConfigError(
    () => loadConfig({ argv: [], env: { IRIS__GLANCE_STORE__STORES: 'file,http', IRIS__GLANCE_STORE__HTTP_PROXY_INFORMATION: 'ftp:x' }, cwd }),
    /\[glance_store\] http_proxy_information/,
    /"ftp" is not http or https/,
  );
});

test('[glance_store] swift and s3 options: Glance names, types, units and defaults; required ones checked at start', (t) => {
  const cwd = workdir(t);
  const swiftEnv = {
    IRIS__GLANCE_STORE__STORES: 'file,swift',
    IRIS__GLANCE_STORE__DEFAULT_STORE: 'swift',
    IRIS__GLANCE_STORE__SWIFT_STORE_AUTH_ADDRESS: 'http://127.0.0.1:8080/auth/v1.0',
    IRIS__GLANCE_STORE__SWIFT_STORE_USER: 'test:tester',
    IRIS__GLANCE_STORE__SWIFT_STORE_KEY: 'testing',
    IRIS__GLANCE_STORE__SWIFT_STORE_AUTH_VERSION: '1',
    IRIS__GLANCE_STORE__SWIFT_STORE_LARGE_OBJECT_SIZE: '64',
  };
  const config = loadConfig({ argv: [], env: swiftEnv, cwd });
  assert.equal(config.default_backend_id, 'swift');
  const swift = config.backends.find((b) => b.type === 'swift');
  assert.ok(swift?.type === 'swift');
  assert.deepEqual(swift.options, {
    default_swift_reference: 'ref1',
    swift_store_config_file: null,
    swift_store_auth_address: 'http://127.0.0.1:8080/auth/v1.0',
    swift_store_user: 'test:tester',
    swift_store_key: 'testing',
    swift_store_auth_version: '1',
    swift_store_auth_insecure: false,
    swift_store_cacert: null,
    swift_store_region: null,
    swift_store_endpoint: null,
    swift_store_endpoint_type: 'publicURL',
    swift_store_service_type: 'object-store',
    swift_store_container: 'glance',
    swift_store_create_container_on_put: false,
    swift_store_multiple_containers_seed: 0,
    swift_store_large_object_size: 64,
    swift_store_large_object_chunk_size: 200,
    swift_store_retry_get_count: 0,
    swift_store_expire_soon_interval: 60,
    swift_buffer_on_upload: false,
    swift_store_multi_tenant: false,
  });
  const without = (name: string) => Object.fromEntries(Object.entries(swiftEnv).filter(([k]) => k !== name));
  assertConfigError(() => loadConfig({ argv: [], env: without('IRIS__GLANCE_STORE__SWIFT_STORE_KEY'), cwd }), /^\[glance_store\] swift_store_key must be set for the swift store/);
  assertConfigError(() => loadConfig({ argv: [], env: { ...swiftEnv, IRIS__GLANCE_STORE__SWIFT_STORE_USER: 'tester' }, cwd }), /swift_store_user must be project:user/);
  assertConfigError(() => loadConfig({ argv: [], env: { ...swiftEnv, IRIS__GLANCE_STORE__SWIFT_STORE_CONFIG_FILE: '/etc/glance/swift.conf' }, cwd }), /are exclusive/);
  assertConfigError(() => loadConfig({ argv: [], env: { ...swiftEnv, IRIS__GLANCE_STORE__SWIFT_STORE_MULTIPLE_CONTAINERS_SEED: '33' }, cwd }), /swift_store_multiple_containers_seed/, /maximum 32/);
  assertConfigError(() => loadConfig({ argv: [], env: { ...swiftEnv, IRIS__GLANCE_STORE__SWIFT_STORE_ENDPOINT_TYPE: 'public' }, cwd }), /swift_store_endpoint_type/, /publicURL, adminURL, internalURL/);
  assertConfigError(() => loadConfig({ argv: [], env: { ...swiftEnv, IRIS__GLANCE_STORE__SWIFT_STORE_MULTI_TENANT: 'true' }, cwd }), /multi-tenant Swift is not available/);
  // Options of a type not in `stores` are read (they are Glance's [glance_store] options) but unused.
  const s3Env = {
    IRIS__GLANCE_STORE__STORES: 's3',
    IRIS__GLANCE_STORE__DEFAULT_STORE: 's3',
    IRIS__GLANCE_STORE__S3_STORE_HOST: 'http://127.0.0.1:8080',
    IRIS__GLANCE_STORE__S3_STORE_ACCESS_KEY: 'test:tester',
    IRIS__GLANCE_STORE__S3_STORE_SECRET_KEY: 'testing',
    IRIS__GLANCE_STORE__S3_STORE_BUCKET: 'glance',
  };
  const s3 = loadConfig({ argv: [], env: s3Env, cwd }).backends[0];
  assert.ok(s3?.type === 's3');
  assert.deepEqual(s3.options, {
    s3_store_host: 'http://127.0.0.1:8080',
    s3_store_access_key: 'test:tester',
    s3_store_secret_key: 'testing',
    s3_store_bucket: 'glance',
    s3_store_create_bucket_on_put: false,
    s3_store_bucket_url_format: 'auto',
    s3_store_region_name: null,
    s3_store_large_object_size: 100,
    s3_store_large_object_chunk_size: 10,
    s3_store_thread_pools: 10,
    s3_store_cacert: null,
  });
  assertConfigError(() => loadConfig({ argv: [], env: { ...s3Env, IRIS__GLANCE_STORE__S3_STORE_BUCKET: '' }, cwd }), /^\[glance_store\] s3_store_bucket must be set for the s3 store$/);
  assertConfigError(() => loadConfig({ argv: [], env: { ...s3Env, IRIS__GLANCE_STORE__S3_STORE_LARGE_OBJECT_CHUNK_SIZE: '4' }, cwd }), /minimum 5/);
  assertConfigError(() => loadConfig({ argv: [], env: { ...s3Env, IRIS__GLANCE_STORE__S3_STORE_BUCKET_URL_FORMAT: 'dns' }, cwd }), /auto, virtual, path/);
});

test('enabled_backends with swift, s3 and http stores: each reads its own group from its own section', (t) => {
  const cwd = workdir(t);
  const file = write(
    cwd,
    'multi.conf',
    [
      '[DEFAULT]',
      'enabled_backends = local:file, obj:swift, bucket:s3, web:http',
      '[glance_store]',
      'default_backend = obj',
      '[obj]',
      'swift_store_auth_address = http://keystone:5000/v3',
      'swift_store_user = service:glance',
      'swift_store_key = secret',
      'swift_store_auth_version = 3',
      'swift_store_container = images',
      'swift_store_large_object_chunk_size = 100',
      's3_store_bucket = not-for-swift',
      '[bucket]',
      's3_store_host = s3.example.com',
      's3_store_access_key = a',
      's3_store_secret_key = b',
      's3_store_bucket = images',
      '[web]',
      'store_description = Images on the web',
      '',
    ].join('\n'),
  );
  const config = loadConfig({ argv: ['--config-file', file], env: {}, cwd });
  assert.deepEqual(config.backends.map((b) => [b.id, b.type]), [['local', 'file'], ['obj', 'swift'], ['bucket', 's3'], ['web', 'http']]);
  const obj = config.backends[1];
  assert.ok(obj?.type === 'swift');
  assert.equal(obj.options.swift_store_container, 'images');
  assert.equal(obj.options.swift_store_auth_version, '3');
  assert.equal(obj.options.swift_store_large_object_chunk_size, 100);
  assert.equal(config.backends[3]?.store_description, 'Images on the web');
  // A swift store's section has no s3 options: reported like any unknown option.
  assert.deepEqual(config.unknown_options, ['obj.s3_store_bucket']);
  assertConfigError(
    () => loadConfig({ argv: ['--config-file', file], env: { IRIS__OBJ__SWIFT_STORE_USER: '' }, cwd }),
    /^\[obj\] swift_store_user must be set for the swift store/,
  );
});

test("rbd store: Glance's options and defaults, in [glance_store] and in a store's section", (t) => {
  const cwd = workdir(t);
  const single = loadConfig({
    argv: [],
    env: { IRIS__GLANCE_STORE__STORES: 'file,rbd', IRIS__GLANCE_STORE__DEFAULT_STORE: 'rbd', IRIS__GLANCE_STORE__RBD_STORE_CEPH_CONF: 'ceph.conf' },
    cwd,
  });
  const rbd = single.backends.find((b) => b.type === 'rbd');
  assert.ok(rbd?.type === 'rbd');
  assert.equal(single.default_backend_id, 'rbd');
  assert.deepEqual(rbd.options, {
    rbd_store_pool: 'images',
    rbd_store_user: null,
    rbd_store_ceph_conf: join(cwd, 'ceph.conf'),
    rbd_store_chunk_size: 8,
    rados_connect_timeout: 0,
    rbd_thin_provisioning: false,
  });
  const file = write(
    cwd,
    'multi.conf',
    [
      '[DEFAULT]',
      'enabled_backends = local:file, ceph:rbd',
      '[glance_store]',
      'default_backend = ceph',
      '[ceph]',
      'rbd_store_pool = glance-images',
      'rbd_store_user = glance',
      'rbd_store_ceph_conf = /etc/ceph/ceph.conf',
      'rbd_store_chunk_size = 4',
      'rados_connect_timeout = 10',
      'rbd_thin_provisioning = true',
      '',
    ].join('\n'),
  );
  const multi = loadConfig({ argv: ['--config-file', file], env: {}, cwd });
  const ceph = multi.backends[1];
  assert.ok(ceph?.type === 'rbd');
  assert.deepEqual(ceph.options, {
    rbd_store_pool: 'glance-images',
    rbd_store_user: 'glance',
    rbd_store_ceph_conf: '/etc/ceph/ceph.conf',
    rbd_store_chunk_size: 4,
    rados_connect_timeout: 10,
    rbd_thin_provisioning: true,
  });
  assertConfigError(() => loadConfig({ argv: ['--config-file', file], env: { IRIS__CEPH__RBD_STORE_CHUNK_SIZE: '0' }, cwd }), /\[ceph\] rbd_store_chunk_size/);
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

test('multi-store: enabled_backends with per-store sections', (t) => {
  const cwd = workdir(t);
  const file = write(
    cwd,
    'multi.conf',
    [
      '[DEFAULT]',
      'enabled_backends = local:file, Fast:file',
      '[glance_store]',
      'default_backend = Fast',
      '[local]',
      'store_description = "Local disk"',
      '[FAST]',
      'filesystem_store_datadir = fast-images',
      'store_description = SSD',
      '[os_glance_staging_store]',
      'filesystem_store_datadir = /srv/staging',
    ].join('\n'),
  );
  const config = loadConfig({ argv: ['--config-file', file], env: {}, cwd });
  assert.equal(config.multi_store, true);
  assert.equal(config.DEFAULT.enabled_backends, 'local:file, Fast:file', 'kept as written');
  assert.deepEqual(config.backends, [
    {
      id: 'local',
      type: 'file',
      filesystem_store_datadir: join(cwd, 'data', 'images', 'local'),
      store_description: 'Local disk',
      legacy: false,
    },
    { id: 'Fast', type: 'file', filesystem_store_datadir: join(cwd, 'fast-images'), store_description: 'SSD', legacy: false },
  ]);
  assert.equal(config.default_backend_id, 'Fast');
  assert.equal(config.staging_dir, '/srv/staging', 'multi-store stages in os_glance_staging_store');
  assert.equal(config.os_glance_tasks_store.filesystem_store_datadir, join(cwd, 'data', 'tasks_work_dir'));
  assert.deepEqual(config.unknown_options, []);
  assert.ok(Object.isFrozen(config.backends[0]));
});

test('multi-store: IRIS__<ID>__… variables set store options and win over files', (t) => {
  const cwd = workdir(t);
  write(cwd, 'etc/iris-api.conf', '[DEFAULT]\nenabled_backends = local:file,local2:file\n[glance_store]\ndefault_backend = local\n[local2]\nfilesystem_store_datadir = /from/file\n');
  const config = loadConfig({
    argv: [],
    env: {
      IRIS__LOCAL2__FILESYSTEM_STORE_DATADIR: '/from/env',
      iris__local__store_description: 'not an Iris variable',
      IRIS__Local__Store_Description: 'Primary',
      IRIS__OTHER__FILESYSTEM_STORE_DATADIR: '/x',
      IRIS__LOCAL__FILESYSTEM_STORE_CHUNK_SIZE: '1',
    },
    cwd,
  });
  assert.equal(dirOf(config.backends[1]), '/from/env');
  assert.equal(config.backends[0]?.store_description, 'Primary');
  assert.deepEqual(config.unknown_options, ['local.filesystem_store_chunk_size', 'other.filesystem_store_datadir']);

  const env = loadConfig({
    argv: [],
    env: { IRIS__DEFAULT__ENABLED_BACKENDS: 'a:file', IRIS__GLANCE_STORE__DEFAULT_BACKEND: 'a', IRIS__A__STORE_DESCRIPTION: '' },
    cwd: workdir(t),
  });
  assert.deepEqual(env.backends.map((b) => [b.id, b.store_description]), [['a', null]], 'empty description is none');
  assertConfigError(
    () => loadConfig({ argv: [], env: { IRIS__LOCAL__FILESYSTEM_STORE_DATADIR: '' }, cwd }),
    /\[local\] filesystem_store_datadir/,
    /IRIS__LOCAL__FILESYSTEM_STORE_DATADIR/,
    /must not be empty/,
  );
});

test('multi-store: store sections are read only for enabled ids', (t) => {
  const cwd = workdir(t);
  write(cwd, 'etc/iris-api.conf', '[local]\nfilesystem_store_datadir = /srv/local\n');
  const config = loadConfig({ argv: [], env: {}, cwd });
  assert.equal(config.multi_store, false);
  assert.deepEqual(config.unknown_options, ['local.filesystem_store_datadir']);
});

test('enabled_backends: bad entries are errors', (t) => {
  const cwd = workdir(t);
  const withBackends = (value: string, defaultBackend = 'a') => () =>
    loadConfig({
      argv: [],
      env: { IRIS__DEFAULT__ENABLED_BACKENDS: value, IRIS__GLANCE_STORE__DEFAULT_BACKEND: defaultBackend },
      cwd,
    });
  assertConfigError(withBackends('a:vmware'), /\[DEFAULT\] enabled_backends/, /IRIS__DEFAULT__ENABLED_BACKENDS/, /store "a": store type "vmware" is not available in Iris yet; Iris has file, swift, s3, http, rbd/);
  assertConfigError(withBackends('a:file,b:cinder'), /store "b": store type "cinder" is not available in Iris yet/);
  assertConfigError(withBackends('a:file,a:file'), /"a" is given twice/);
  assertConfigError(withBackends('a:file,A:file'), /differ only in case/);
  assertConfigError(withBackends('a:file,os_glance_mine:file'), /"os_glance_mine" is reserved/, /os_glance_/);
  assertConfigError(withBackends('os_glance_staging_store:file'), /reserved/);
  assertConfigError(withBackends('a'), /"a" is not id:type/);
  assertConfigError(withBackends(':file'), /empty store id/);
  assertConfigError(withBackends('a:'), /"a" has no type/);
  assertConfigError(withBackends('a b:file'), /not valid/);
  assertConfigError(withBackends('glance_store:file', 'glance_store'), /Iris's own sections/);
  assertConfigError(withBackends('DEFAULT:file', 'DEFAULT'), /Iris's own sections/);
});

test('default_backend must name an enabled store in multi-store mode, and is ignored otherwise', (t) => {
  const cwd = workdir(t);
  const file = write(cwd, 'x.conf', '[DEFAULT]\nenabled_backends = local:file,local2:file\n[glance_store]\ndefault_backend = fast\n');
  assertConfigError(
    () => loadConfig({ argv: ['--config-file', file], env: {}, cwd }),
    /\[glance_store\] default_backend/,
    new RegExp(`${file}:4`),
    /"fast" is not one of enabled_backends \(local, local2\)/,
  );
  assertConfigError(
    () => loadConfig({ argv: [], env: { IRIS__DEFAULT__ENABLED_BACKENDS: 'local:file' }, cwd }),
    /\[glance_store\] default_backend must be set/,
    /local/,
  );
  assertConfigError(
    () => loadConfig({ argv: [], env: { IRIS__DEFAULT__ENABLED_BACKENDS: 'local:file', IRIS__GLANCE_STORE__DEFAULT_BACKEND: 'LOCAL' }, cwd }),
    /"LOCAL" is not one of enabled_backends/,
  );
  const single = loadConfig({ argv: [], env: { IRIS__GLANCE_STORE__DEFAULT_BACKEND: 'whatever' }, cwd });
  assert.equal(single.multi_store, false);
  assert.equal(single.default_backend_id, 'file');
  assert.equal(single.glance_store.default_backend, 'whatever');
});

test('stores, staging and tasks directories must all differ', (t) => {
  const cwd = workdir(t);
  const load = (env: NodeJS.ProcessEnv) => () => loadConfig({ argv: [], env, cwd });
  const multi = { IRIS__DEFAULT__ENABLED_BACKENDS: 'a:file,b:file', IRIS__GLANCE_STORE__DEFAULT_BACKEND: 'a' };
  assertConfigError(
    load({ ...multi, IRIS__A__FILESYSTEM_STORE_DATADIR: '/srv/x', IRIS__B__FILESYSTEM_STORE_DATADIR: '/srv/x/' }),
    /\[a\] filesystem_store_datadir and \[b\] filesystem_store_datadir are both \/srv\/x/,
  );
  assertConfigError(
    load({ ...multi, IRIS__B__FILESYSTEM_STORE_DATADIR: '/srv/s', IRIS__OS_GLANCE_STAGING_STORE__FILESYSTEM_STORE_DATADIR: '/srv/s' }),
    /\[b\] filesystem_store_datadir and \[os_glance_staging_store\] filesystem_store_datadir/,
  );
  assertConfigError(
    load({ ...multi, IRIS__A__FILESYSTEM_STORE_DATADIR: '/srv/t', IRIS__OS_GLANCE_TASKS_STORE__FILESYSTEM_STORE_DATADIR: '/srv/t' }),
    /\[a\] filesystem_store_datadir and \[os_glance_tasks_store\] filesystem_store_datadir/,
  );
  assertConfigError(
    load({ IRIS__GLANCE_STORE__FILESYSTEM_STORE_DATADIR: '/srv/s', IRIS__DEFAULT__NODE_STAGING_URI: 'file:///srv/s/' }),
    /\[glance_store\] filesystem_store_datadir and \[DEFAULT\] node_staging_uri are both \/srv\/s/,
  );
  assertConfigError(
    load({ IRIS__DEFAULT__NODE_STAGING_URI: 'file:///srv/s', IRIS__OS_GLANCE_TASKS_STORE__FILESYSTEM_STORE_DATADIR: '/srv/s' }),
    /node_staging_uri and \[os_glance_tasks_store\] filesystem_store_datadir/,
  );
  // Single store: the staging store's own option is not used, so it may equal anything.
  const single = loadConfig({ argv: [], env: { IRIS__OS_GLANCE_STAGING_STORE__FILESYSTEM_STORE_DATADIR: join(cwd, 'data', 'images') }, cwd });
  assert.equal(single.staging_dir, join(cwd, 'data', 'staging'));
});

test('node_staging_uri must be file:// and an absolute path', (t) => {
  const cwd = workdir(t);
  const staging = (value: string) => loadConfig({ argv: [], env: { IRIS__DEFAULT__NODE_STAGING_URI: value }, cwd });
  const config = staging('file:///var/lib/iris/staging/');
  assert.equal(config.DEFAULT.node_staging_uri, 'file:///var/lib/iris/staging/', 'kept as given');
  assert.equal(config.staging_dir, '/var/lib/iris/staging');
  assertConfigError(() => staging('/var/lib/iris/staging'), /\[DEFAULT\] node_staging_uri/, /must start with file:\/\//);
  assertConfigError(() => staging('http://x/staging'), /must start with file:\/\//);
  assertConfigError(() => staging('file://relative/dir'), /absolute path/);
  assertConfigError(() => staging(''), /must start with file:\/\//);
  const moved = loadConfig({ argv: [], env: { IRIS_DATA_DIR: '/srv/iris' }, cwd });
  assert.equal(moved.DEFAULT.node_staging_uri, 'file:///srv/iris/staging');
  assert.equal(moved.staging_dir, '/srv/iris/staging');
  assert.equal(moved.os_glance_tasks_store.filesystem_store_datadir, '/srv/iris/tasks_work_dir');
});

test('enabled_import_methods: bracketed or not, only the three methods', (t) => {
  const cwd = workdir(t);
  write(cwd, 'etc/iris-api.conf', '[DEFAULT]\nenabled_import_methods = [glance-direct,web-download,copy-image]\n');
  assert.deepEqual(loadConfig({ argv: [], env: {}, cwd }).DEFAULT.enabled_import_methods, [
    'glance-direct',
    'web-download',
    'copy-image',
  ]);
  const methods = (value: string) =>
    loadConfig({ argv: [], env: { IRIS__DEFAULT__ENABLED_IMPORT_METHODS: value }, cwd }).DEFAULT.enabled_import_methods;
  assert.deepEqual(methods('web-download'), ['web-download']);
  assert.deepEqual(methods("['glance-direct', 'copy-image']"), ['glance-direct', 'copy-image'], 'quoted items, as oslo.config allows');
  assert.deepEqual(methods('glance-direct,glance-direct'), ['glance-direct']);
  assert.deepEqual(methods(''), []);
  assert.deepEqual(methods('[]'), []);
  assert.deepEqual(methods('glance-direct,glance-download'), ['glance-direct', 'glance-download']);
  assertConfigError(() => methods('glance-upload'), /\[DEFAULT\] enabled_import_methods/, /unknown import method glance-upload/);
  assertConfigError(() => methods('[web-download,ftp-upload]'), /unknown import method ftp-upload/);
});

test('import_filtering_opts: lists, ports as numbers, brackets', (t) => {
  const cwd = workdir(t);
  write(
    cwd,
    'etc/iris-api.conf',
    [
      '[import_filtering_opts]',
      'allowed_schemes = [HTTPS]',
      'disallowed_schemes = ftp',
      'allowed_hosts = [images.example.com, 192.0.2.10, [2001:db8::1]]',
      'disallowed_hosts = Internal.Example.com',
      'allowed_ports = [80,443]',
      'disallowed_ports = 22, 8080',
      'allow_private_networks = yes',
    ].join('\n'),
  );
  const config = loadConfig({ argv: [], env: {}, cwd });
  assert.deepEqual(config.import_filtering_opts, {
    allowed_schemes: ['https'],
    disallowed_schemes: ['ftp'],
    allowed_hosts: ['images.example.com', '192.0.2.10', '2001:db8::1'],
    disallowed_hosts: ['internal.example.com'],
    allowed_ports: [80, 443],
    disallowed_ports: [22, 8080],
    allow_private_networks: true,
    allow_loopback: false,
  });
  const opt = (name: string, value: string) => () =>
    loadConfig({ argv: [], env: { [`IRIS__IMPORT_FILTERING_OPTS__${name}`]: value }, cwd });
  assert.deepEqual(opt('ALLOWED_PORTS', '')().import_filtering_opts.allowed_ports, []);
  assert.deepEqual(opt('ALLOWED_PORTS', '8443')().import_filtering_opts.allowed_ports, [8443]);
  assertConfigError(opt('ALLOWED_PORTS', '80,http'), /\[import_filtering_opts\] allowed_ports/, /port "http": "http" is not an integer/);
  assertConfigError(opt('ALLOWED_PORTS', '65536'), /maximum 65535/);
  assertConfigError(opt('DISALLOWED_PORTS', '0'), /disallowed_ports/, /minimum 1/);
  assertConfigError(opt('ALLOWED_SCHEMES', 'http://'), /allowed_schemes/, /not a URL scheme/);
  assertConfigError(opt('ALLOWED_HOSTS', 'example.com:8080'), /allowed_hosts/, /not a host name or IP address/);
  assertConfigError(opt('DISALLOWED_HOSTS', 'http://example.com'), /disallowed_hosts/);
  assertConfigError(opt('ALLOW_PRIVATE_NETWORKS', 'sometimes'), /allow_private_networks/, /not a boolean/);
});

test('[task] task_time_to_live, and its deprecated [DEFAULT] spelling', (t) => {
  const cwd = workdir(t);
  assert.equal(loadConfig({ argv: [], env: { IRIS__TASK__TASK_TIME_TO_LIVE: '0' }, cwd }).task.task_time_to_live, 0);
  assertConfigError(() => loadConfig({ argv: [], env: { IRIS__TASK__TASK_TIME_TO_LIVE: '-1' }, cwd }), /\[task\] task_time_to_live/, /minimum 0/);
  write(cwd, 'etc/iris-api.conf', '[DEFAULT]\ntask_time_to_live = 12\n');
  const old = loadConfig({ argv: [], env: {}, cwd });
  assert.equal(old.task.task_time_to_live, 12);
  assert.equal(old.deprecations.length, 1);
  assert.match(old.deprecations[0] ?? '', /\[DEFAULT\] task_time_to_live .* use \[task\] task_time_to_live/);
});

test('lists: one pair of surrounding brackets is removed everywhere', (t) => {
  const cwd = workdir(t);
  const config = loadConfig({ argv: [], env: { IRIS__IMAGE_FORMAT__DISK_FORMATS: '[raw, qcow2]' }, cwd });
  assert.deepEqual(config.image_format.disk_formats, ['raw', 'qcow2']);
});
