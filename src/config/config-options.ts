/**
 * The table of every option Iris reads: section, name, type, default and help. The loader
 * (`load-config.ts`), the sample file (`etc/iris-api.conf.sample`) and the options table in
 * `docs/configuration.md` are all generated from it, so adding an option is one entry here
 * plus its field in `config.ts`.
 *
 * Placement in Config: an option in section `s` named `n` becomes `config[s][n]`, except
 * the Iris-only section `[iris]`, whose options are top-level fields (`config.data_dir`).
 * The converters the rows name live apart: option-values.ts (value syntaxes and checks) and
 * store-ids.ts (the enabled_backends grammar).
 */
import { getHashes } from 'node:crypto';
import { join, resolve } from 'node:path';
import { IMPORT_METHODS } from '../domain/import-method.js';
import { HEALTH_BACKENDS } from '../health/health-checks.js';
import { parseDatabaseUrl } from '../persistence/database-url.js';
import { NOTIFICATION_DRIVERS } from '../notify/notification-drivers.js';
import { parseTransportUrl } from '../notify/transport-url.js';
import {
  hostList,
  httpUrl,
  namesFrom,
  parseBoolean,
  parseInjectedProperties,
  parseInteger,
  parseList,
  parseSize,
  portList,
  schemeList,
  stagingPathFromUri,
  syslogFacility,
} from './option-values.js';
import { checkStoreType, parseEnabledBackends } from './store-ids.js';
import { storeTypeRows } from './store-type-options.js';

export type OptionType = 'string' | 'integer' | 'boolean' | 'list' | 'size' | 'path';

/** What a value of each option type parses to. */
export interface OptionValueTypes {
  string: string;
  integer: number;
  boolean: boolean;
  list: readonly string[];
  size: number;
  path: string;
}

/** Facts computed defaults and conversions may depend on. */
export interface OptionContext {
  /** Absolute directory relative paths are resolved against. */
  readonly cwd: string;
  /** Absolute resolved `[iris] data_dir` (only meaningful once data_dir itself is resolved). */
  readonly dataDir: string;
  /** The backend id, while resolving the options of a per-store section ({@link BACKEND_OPTIONS}). */
  readonly storeId?: string;
}

interface BaseOption {
  readonly section: string;
  readonly name: string;
  /** As written in a file; a function when it is computed (from data_dir). */
  readonly default: string | ((ctx: OptionContext) => string);
  /** How a computed or unset default is shown in the sample and docs. */
  readonly defaultText?: string;
  /** Integer bounds, inclusive. */
  readonly min?: number;
  readonly max?: number;
  /** One paragraph for operators. */
  readonly help: string;
  /** A short environment variable that also sets this option (besides IRIS__SECTION__OPTION). */
  readonly envAlias?: string;
  /** Older spellings, read only when this option is set nowhere; each use is a deprecation. */
  readonly deprecatedNames?: readonly { readonly section: string; readonly name: string }[];
  /** Known to Glance operators but unused by Iris: accepted silently, not part of Config. */
  readonly ignored?: boolean;
}

type TypedOption<T extends OptionType> = BaseOption & {
  readonly type: T;
  /** Checks or converts the parsed value; throws an Error whose message is the reason. */
  readonly convert?: (value: OptionValueTypes[T], ctx: OptionContext) => unknown;
};

/** One row of {@link CONFIG_OPTIONS}. */
export type ConfigOption = { [T in OptionType]: TypedOption<T> }[OptionType];

/** Glance-spelled option Iris accepts but does not use (keeps operators' files quiet). */
function ignored(section: string, name: string): ConfigOption {
  return {
    section,
    name,
    type: 'string',
    default: '',
    defaultText: '<None>',
    ignored: true,
    help: 'Accepted so that an existing glance-api.conf loads without warnings; Iris does not use it (it logs to standard output).',
  };
}

/** keystonemiddleware option Iris has no use for (its token cache is in-process). */
function ignoredKeystone(name: string): ConfigOption {
  return {
    section: 'keystone_authtoken',
    name,
    type: 'string',
    default: '',
    defaultText: '<None>',
    ignored: true,
    help: 'Accepted so that an existing [keystone_authtoken] section loads without warnings; Iris caches tokens in-process.',
  };
}

const SUPPORTED_FLAVORS = new Set(['', 'hybrid', 'noauth', 'keystone', 'apikey']);

/** Glance's import plugins ([image_import_opts] image_import_plugins); no_op is its sample default. */
export const IMPORT_PLUGINS: readonly string[] = ['image_conversion', 'image_decompression', 'inject_image_metadata', 'no_op'];

/** [image_conversion] output_format: Glance's choices. */
export const CONVERSION_OUTPUT_FORMATS: readonly string[] = ['raw', 'qcow2', 'vmdk'];

/** Every option Iris knows, in the order of the sample file. */
export const CONFIG_OPTIONS: readonly ConfigOption[] = Object.freeze([
  {
    section: 'DEFAULT',
    name: 'bind_host',
    type: 'string',
    default: '127.0.0.1',
    defaultText: '127.0.0.1 (0.0.0.0 with flavor keystone or apikey)',
    envAlias: 'IRIS_HOST',
    help:
      'Address the API server listens on. With an authenticating flavor (keystone, apikey) the default is ' +
      "Glance's 0.0.0.0, all interfaces. With hybrid and noauth, which trust every caller, it is 127.0.0.1 so " +
      'that a fresh install is not reachable from the network (a wider address is logged as a warning); ' +
      'set 0.0.0.0 or :: to listen on all interfaces.',
    convert: (value: string) => {
      if (value === '') throw new Error('must not be empty');
      return value;
    },
  },
  {
    section: 'DEFAULT',
    name: 'bind_port',
    type: 'integer',
    default: '9292',
    min: 0,
    max: 65535,
    envAlias: 'IRIS_PORT',
    help: 'TCP port the API server listens on. 0 picks any free port, which is useful in tests.',
  },
  {
    section: 'DEFAULT',
    name: 'workers',
    type: 'integer',
    default: '1',
    min: 1,
    help: 'Number of API worker processes. Iris defaults to 1; Glance defaults to the number of CPUs.',
  },
  {
    section: 'DEFAULT',
    name: 'client_socket_timeout',
    type: 'integer',
    default: '900',
    min: 0,
    help:
      'Seconds a client connection may stay idle (no byte read or written) before Iris closes it, as in ' +
      'Glance. 0 = wait forever (not recommended on a public endpoint).',
  },
  {
    section: 'DEFAULT',
    name: 'image_size_cap',
    type: 'integer',
    default: '1099511627776',
    min: 0,
    help:
      'Largest image, in bytes, that may be uploaded; an upload that grows past it is rejected with ' +
      '413 Request Entity Too Large. The default is 1 TiB.',
  },
  {
    section: 'DEFAULT',
    name: 'limit_param_default',
    type: 'integer',
    default: '25',
    min: 1,
    help: 'Number of items a list request returns when it gives no limit parameter.',
  },
  {
    section: 'DEFAULT',
    name: 'api_limit_max',
    type: 'integer',
    default: '1000',
    min: 1,
    help: 'Largest number of items one list request may return; a larger limit parameter is lowered to this value.',
  },
  {
    section: 'DEFAULT',
    name: 'show_image_direct_url',
    type: 'boolean',
    default: 'false',
    help:
      'Whether images show the direct_url property, the location of their data in the backing store. ' +
      'It reveals store paths to every user who can see the image, so leave it off unless clients need it.',
  },
  {
    section: 'DEFAULT',
    name: 'hashing_algorithm',
    type: 'string',
    default: 'sha512',
    help:
      'Digest computed over uploaded image data and stored as os_hash_value (with os_hash_algo). ' +
      "It must be an algorithm Node's crypto module knows, such as sha256, sha384 or sha512.",
    convert: (value: string) => {
      const known = getHashes().find((name) => name.toLowerCase() === value.toLowerCase());
      if (known === undefined) {
        throw new Error(`${JSON.stringify(value)} is not a hash algorithm known to node:crypto (try sha256 or sha512)`);
      }
      return known;
    },
  },
  {
    section: 'DEFAULT',
    name: 'user_storage_quota',
    type: 'size',
    default: '0',
    help:
      'Total size of image data each project may store, over all its images; 0 means unlimited. ' +
      'A number of bytes, optionally followed by a unit B, KB, MB, GB or TB; units are powers of 1024, ' +
      'so 10GB is 10737418240 bytes.',
  },
  {
    section: 'DEFAULT',
    name: 'image_member_quota',
    type: 'integer',
    default: '128',
    help:
      'Largest number of members (projects it is shared with) one image may have; adding one more is ' +
      'rejected with 413 Request Entity Too Large. A negative value means unlimited.',
  },
  // Quotas (docs/quotas.md): Glance's legacy per-image counts, then Keystone unified limits.
  {
    section: 'DEFAULT',
    name: 'image_property_quota',
    type: 'integer',
    default: '128',
    help:
      'Largest number of additional properties one image may have (os_glance_* ones not counted); creating an ' +
      'image with more, or adding a property beyond it, is rejected with 413. A negative value means unlimited.',
  },
  {
    section: 'DEFAULT',
    name: 'image_tag_quota',
    type: 'integer',
    default: '128',
    help: 'Largest number of tags one image may have; more is rejected with 413. A negative value means unlimited.',
  },
  {
    section: 'DEFAULT',
    name: 'image_location_quota',
    type: 'integer',
    default: '10',
    help:
      'Largest number of locations one image may have. Iris keeps locations invisible (show_multiple_locations ' +
      'off), so only copy-image adds them; a copy beyond the quota fails that store. A negative value means unlimited.',
  },
  {
    section: 'DEFAULT',
    name: 'use_keystone_limits',
    type: 'boolean',
    default: 'false',
    help:
      'Enforce the per-project limits registered in Keystone (unified limits image_size_total and ' +
      'image_stage_total in MiB, image_count_total, image_count_uploading) instead of user_storage_quota, ' +
      'and report them in GET /v2/info/usage. Needs [oslo_limit]. A resource without a registered or project ' +
      'limit counts as limit 0, as in Glance.',
  },
  {
    section: 'oslo_limit',
    name: 'endpoint_id',
    type: 'string',
    default: '',
    defaultText: '<None>',
    help: "The image service's endpoint id in Keystone: limits are those registered for its service and region. Required with use_keystone_limits.",
  },
  {
    section: 'oslo_limit',
    name: 'auth_url',
    type: 'string',
    default: '',
    defaultText: '<None>',
    help: 'Keystone URL Iris reads limits from, e.g. http://keystone:5000/v3 (a URL without /v3 gets it appended).',
    convert: (value: string) => (value === '' ? null : httpUrl(value)),
  },
  {
    section: 'oslo_limit',
    name: 'auth_type',
    type: 'string',
    default: 'password',
    help: 'How Iris authenticates to read limits. Only password (Identity v3) is supported.',
    convert: (value: string) => {
      if (value !== 'password') throw new Error(`auth_type ${JSON.stringify(value)} is not supported; use password`);
      return value;
    },
  },
  ...(['username', 'user_id', 'password', 'user_domain_id', 'user_domain_name', 'project_id', 'project_name', 'project_domain_id', 'project_domain_name'] as const).map(
    (name): ConfigOption => ({
      section: 'oslo_limit',
      name,
      type: 'string',
      default: '',
      defaultText: '<None>',
      help:
        name === 'password'
          ? 'Password of the user reading limits. Never logged.'
          : `keystoneauth's password plugin option ${name}: who reads the limits (a user with a system-scoped reader role, ` +
            'or a project scope where Keystone allows listing other projects\' limits).',
    }),
  ),
  {
    section: 'oslo_limit',
    name: 'system_scope',
    type: 'string',
    default: '',
    defaultText: '<None>',
    help: 'Scope the token to the system (all), which Keystone requires to list the limits of every project. Takes precedence over project_*.',
  },
  {
    section: 'oslo_limit',
    name: 'timeout',
    type: 'integer',
    default: '5',
    min: 1,
    help: 'Seconds one exchange with Keystone may take; then the request is answered 500 (as Glance does when oslo.limit fails).',
  },
  {
    section: 'iris',
    name: 'keystone_limits_cache_time',
    type: 'integer',
    default: '10',
    min: 0,
    help:
      'Iris only. Seconds the limits read from Keystone are reused before being read again (usage is always ' +
      'counted afresh). Glance reads them on every check; 0 does that too. A limit changed in Keystone takes ' +
      'effect within this time.',
  },
  {
    section: 'iris',
    name: 'quota_reservation_time',
    type: 'integer',
    default: '300',
    min: 10,
    help:
      'Iris only. Seconds a byte reservation of a running upload (user_storage_quota) lives without being ' +
      'renewed; a running upload renews it three times per period. A node that dies mid-upload stops ' +
      'renewing, and its reservation stops counting after this time (at once for a restarted node\'s own).',
  },
  {
    section: 'DEFAULT',
    name: 'delayed_delete',
    type: 'boolean',
    default: 'false',
    help:
      'Delayed delete: deleting an image that has data puts it in pending_delete and keeps its data; ' +
      'iris-scrubber removes the data once scrub_time has passed and marks the image deleted, and until ' +
      'then `iris-scrubber --restore <id>` undoes the delete. Run iris-scrubber (daemon or cron) when this ' +
      'is on, or the stores fill up with the data of deleted images.',
  },
  {
    section: 'DEFAULT',
    name: 'scrub_time',
    type: 'integer',
    default: '0',
    min: 0,
    help: 'Seconds an image stays in pending_delete (restorable) before iris-scrubber may delete its data.',
  },
  {
    section: 'DEFAULT',
    name: 'scrub_pool_size',
    type: 'integer',
    default: '1',
    min: 1,
    help: 'How many images one iris-scrubber run deletes in parallel (1 = one after another).',
  },
  {
    section: 'DEFAULT',
    name: 'wakeup_time',
    type: 'integer',
    default: '300',
    min: 0,
    help: 'Seconds between two runs of iris-scrubber as a daemon (without --once).',
  },
  {
    section: 'DEFAULT',
    name: 'public_endpoint',
    type: 'string',
    default: '',
    defaultText: '<None>',
    help:
      'Base URL (http:// or https://) put in the links the API returns, for servers behind a proxy or ' +
      "load balancer. Unset means links are built from the request's own host.",
    convert: (value: string) => (value === '' ? null : httpUrl(value)),
  },
  {
    section: 'DEFAULT',
    name: 'worker_self_reference_url',
    type: 'string',
    default: '',
    defaultText: '<None>',
    help:
      'The URL by which the other API nodes reach this one (http:// or https://). When set, a node that ' +
      'stages image data records itself on the image (os_glance_stage_host), and a glance-direct import ' +
      'that lands on another node is proxied to it with the caller\'s token. Unset: public_endpoint, which ' +
      'is the same on every node, so nothing is proxied (use a shared staging directory then).',
    convert: (value: string) => (value === '' ? null : httpUrl(value)),
  },
  {
    section: 'DEFAULT',
    name: 'debug',
    type: 'boolean',
    default: 'false',
    help: 'Log at debug level instead of info.',
  },
  {
    section: 'DEFAULT',
    name: 'enabled_backends',
    type: 'string',
    default: '',
    defaultText: '<None>',
    help:
      "Glance's multi-store mode: comma-separated id:type pairs naming the stores images may live in, for " +
      'example local:file,objects:swift,web:http. The types are file, swift, s3 and http (read-only). Ids must be unique (ignoring case) and ' +
      'must not start with os_glance_, which is reserved. Each store reads its options from the section named ' +
      'after its id (see the per-store sections below), and [glance_store] default_backend must name one of ' +
      'them. Unset means a single store configured by [glance_store].',
    convert: (value: string) => {
      parseEnabledBackends(value, ownSections());
      return value;
    },
  },
  {
    section: 'DEFAULT',
    name: 'enabled_import_methods',
    type: 'list',
    default: 'glance-direct,web-download,copy-image',
    help:
      'Image import methods offered by the import API and advertised by GET /v2/info/import: any of ' +
      'glance-direct, web-download, copy-image and glance-download (off by default, as in Glance: it needs ' +
      '[paste_deploy] flavor = keystone, since it reads another region\'s Glance with the caller\'s token and ' +
      'catalog). Brackets around the list are allowed, as in [glance-direct,web-download]. An empty list ' +
      'disables image import.',
    convert: namesFrom('import method', 'methods', IMPORT_METHODS),
  },
  {
    section: 'DEFAULT',
    name: 'node_staging_uri',
    type: 'string',
    default: (ctx: OptionContext) => `file://${join(ctx.dataDir, 'staging')}`,
    defaultText: 'file://<data_dir>/staging',
    help:
      'Without enabled_backends: where image data uploaded for glance-direct import is staged until it is ' +
      'imported, as file:// followed by an absolute path (file:///var/lib/iris/staging). With enabled_backends ' +
      "it is not used: staging goes to [os_glance_staging_store]. Glance's default is file:///tmp/staging/.",
    convert: (value: string) => {
      stagingPathFromUri(value);
      return value;
    },
  },
  {
    section: 'DEFAULT',
    name: 'log_file',
    type: 'string',
    default: '',
    defaultText: '<None>',
    help:
      'File the log is written to instead of standard output (plain text lines unless [iris] log_format = ' +
      'json). A relative name is placed in log_dir when that is set, else relative to the working directory. ' +
      'Iris reopens the file on SIGHUP, so logrotate can move it away (systemctl reload iris-api).',
    convert: (value: string) => (value === '' ? null : value),
  },
  {
    section: 'DEFAULT',
    name: 'log_dir',
    type: 'string',
    default: '',
    defaultText: '<None>',
    help: 'Directory for log_file; with log_dir and no log_file the file is iris-api.log in it (as oslo.log names it after the program).',
    convert: (value: string) => (value === '' ? null : value),
  },
  {
    section: 'DEFAULT',
    name: 'use_stderr',
    type: 'boolean',
    default: 'false',
    help: 'Log to standard error. Without a log file, standard error instead of standard output; with one, both.',
  },
  {
    section: 'DEFAULT',
    name: 'log_date_format',
    type: 'string',
    default: '%Y-%m-%d %H:%M:%S',
    help:
      'strftime format of the time stamp in plain text log lines (milliseconds follow it); local time. ' +
      'Supports %Y %y %m %d %e %H %I %M %S %p %j %a %A %b %B %z %Z %%.',
  },
  {
    section: 'DEFAULT',
    name: 'use_syslog',
    type: 'boolean',
    default: 'false',
    help:
      'Also send the log to the local syslog socket ([iris] syslog_socket, /dev/log) with the facility ' +
      'syslog_log_facility. If the socket does not exist Iris says so once on standard error and logs on without syslog.',
  },
  {
    section: 'DEFAULT',
    name: 'syslog_log_facility',
    type: 'string',
    default: 'LOG_USER',
    help: 'Syslog facility: LOG_USER, LOG_DAEMON, LOG_LOCAL0 … LOG_LOCAL7 (or user, daemon, local0 … local7).',
    convert: (value: string) => {
      syslogFacility(value);
      return value;
    },
  },
  ignored('DEFAULT', 'verbose'),
  {
    section: 'iris',
    name: 'log_format',
    type: 'string',
    default: 'auto',
    help:
      'Iris only. text: one plain line per entry (time, pid, level, message, fields). json: one JSON object per ' +
      'line (pino). auto: text for a log file, syslog and a terminal; json when standard output or standard ' +
      'error is not a terminal (a pipe, journald, a container runtime), for log collectors.',
    convert: (value: string) => {
      if (!['auto', 'text', 'json'].includes(value)) throw new Error(`${JSON.stringify(value)} is not auto, text or json`);
      return value;
    },
  },
  {
    section: 'iris',
    name: 'admin_bind_host',
    type: 'string',
    default: '127.0.0.1',
    help:
      'Iris only. Address of the admin listener, which serves GET /metrics (Prometheus text format) apart ' +
      'from the API, so metrics are never public unless the operator binds it beyond loopback. Empty: no admin ' +
      'listener. With workers > 1 the main process serves it with the figures of all workers.',
  },
  {
    section: 'iris',
    name: 'admin_bind_port',
    type: 'integer',
    default: '-1',
    min: -1,
    max: 65535,
    help:
      'Iris only. Port of the admin listener. -1: bind_port + 10000 (19292 for 9292), so nodes sharing a host, ' +
      'which already differ in bind_port, never collide; a free port when bind_port is 0 or above 55535. 0: any ' +
      'free port. The port bound is logged ("metrics listening").',
  },
  {
    section: 'iris',
    name: 'shutdown_timeout',
    type: 'integer',
    default: '30',
    min: 0,
    help:
      'Iris only. Seconds a stopping server (SIGTERM, SIGINT) lets requests in progress finish after it stops ' +
      'accepting new ones; then it closes the connections that remain. Running imports are aborted at once ' +
      '(their tasks fail, their images return to a consistent state). Keep systemd\'s TimeoutStopSec above it.',
  },
  {
    section: 'iris',
    name: 'syslog_socket',
    type: 'path',
    default: '/dev/log',
    help: 'Iris only. The local syslog socket use_syslog writes to.',
  },
  {
    section: 'iris',
    name: 'syslog_format',
    type: 'string',
    default: 'rfc3164',
    help: 'Iris only. Syslog message form: rfc3164 (what the C library\'s syslog() sends, as Glance does) or rfc5424.',
    convert: (value: string) => {
      if (value !== 'rfc3164' && value !== 'rfc5424') throw new Error(`${JSON.stringify(value)} is not rfc3164 or rfc5424`);
      return value;
    },
  },
  {
    section: 'iris',
    name: 'data_dir',
    type: 'path',
    default: (ctx: OptionContext) => join(ctx.cwd, 'data'),
    defaultText: '<cwd>/data',
    envAlias: 'IRIS_DATA_DIR',
    help:
      'Iris only. Directory holding the default SQLite database (iris.sqlite) and the default file store ' +
      '(images/). A relative path is relative to the working directory. An explicit [database] connection ' +
      'or [glance_store] filesystem_store_datadir wins over it.',
  },
  {
    section: 'iris',
    name: 'partial_write_max_age',
    type: 'integer',
    default: '86400',
    min: 0,
    help:
      'Iris only. Seconds after its last write that a partial upload left in a store (a temp file, Swift ' +
      'segments, an S3 multipart upload) counts as abandoned and is removed at start. Younger ones may ' +
      'be uploads still running on another node sharing the store, and are kept. 0 removes them all ' +
      '(a store no other node writes to).',
  },
  {
    section: 'iris',
    name: 'scrub_claim_seconds',
    type: 'integer',
    default: '3600',
    min: 1,
    help:
      'Iris only. Seconds a scrubber owns the image data it is deleting (a claim in the database, so ' +
      'several scrubbers on one database never delete the same data twice). The claims of a scrubber ' +
      'killed on this node are taken over at once by the next run here; those of another node only once ' +
      'they have run out. Longer than the slowest single delete.',
  },
  {
    section: 'iris',
    name: 'task_lease_seconds',
    type: 'integer',
    default: '300',
    min: 1,
    help:
      'Iris only. Seconds a running import task stays owned by its node without renewing its lease (it renews ' +
      'it four times per lease while bytes move). Every node looks for ended leases every half lease and ' +
      'fails those tasks, returning their images to a consistent state as a restart does, so a node killed ' +
      'mid-import leaves its task failed within one and a half leases; the image\'s import lock lasts as long ' +
      'as the lease. Uploads (saving) and stages (uploading) carry the same lease: a node returns another ' +
      "node's transfer to queued only once its lease ended (or its process on this host is gone). All nodes " +
      'sharing a database should use the same value.',
  },
  {
    section: 'iris',
    name: 'body_idle_timeout',
    type: 'integer',
    default: '60',
    min: 0,
    help:
      'Iris only. Seconds a request body (image data, JSON) may go without a byte arriving before Iris gives up ' +
      'on it: the caller gets 408, an upload in progress is aborted and its image returns to queued. ' +
      'Never longer than client_socket_timeout. 0 = only client_socket_timeout applies.',
  },
  // The image cache (docs/cache.md): Glance's [DEFAULT] names, plus Iris's free-disk floor.
  {
    section: 'DEFAULT',
    name: 'image_cache_dir',
    type: 'string',
    default: '',
    defaultText: '<None>',
    help:
      'Directory of this node\'s image cache. Set, it turns the cache on: downloads of active images are kept ' +
      'here (verified against the image\'s md5 and multihash) and later downloads are served from it, the cache ' +
      'API (/v2/cache) is offered and the version list shows v2.16 CURRENT, v2.15 and v2.14, as Glance. Unset: no ' +
      'cache, no cache API. Each node keeps its files under a sub-directory named after its identity ' +
      '(worker_self_reference_url), so nodes sharing a path never mix their files. A relative path is relative ' +
      'to the working directory.',
    convert: (value: string, ctx: OptionContext) => (value === '' ? null : resolve(ctx.cwd, value)),
  },
  {
    section: 'DEFAULT',
    name: 'image_cache_max_size',
    type: 'size',
    default: '10737418240',
    help:
      'Bytes the image cache is pruned back to, least recently used images first. Iris prunes after every ' +
      'image it adds and at every prefetcher run, so unlike Glance\'s cron-driven pruner the cache exceeds this ' +
      'only by the images being written. An image larger than this is never cached.',
  },
  {
    section: 'DEFAULT',
    name: 'image_cache_stall_time',
    type: 'integer',
    default: '86400',
    min: 0,
    help:
      'Seconds after which an incomplete cache file (a download still being written, or one a crash left) ' +
      'counts as stalled and is removed by the cleaner (every prefetcher run, and iris-manage cache clean).',
  },
  {
    section: 'DEFAULT',
    name: 'image_cache_driver',
    type: 'string',
    default: 'centralized_db',
    help:
      'Glance\'s cache driver choice. Iris always behaves as centralized_db: cache records live in the shared ' +
      'database, tagged with the node\'s identity, and the files in the node\'s own directory. sqlite and xattr ' +
      'are accepted so an existing glance-api.conf loads, and are treated as centralized_db (logged at start): ' +
      'Iris keeps no per-node SQLite file and reads no extended attributes.',
    convert: (value: string) => {
      const v = value.toLowerCase();
      if (!['centralized_db', 'sqlite', 'xattr'].includes(v)) throw new Error(`${JSON.stringify(value)} is not centralized_db, sqlite or xattr`);
      return v;
    },
  },
  {
    section: 'DEFAULT',
    name: 'cache_prefetcher_interval',
    type: 'integer',
    default: '300',
    min: 1,
    help:
      'Seconds between runs of the node\'s cache prefetcher, which caches the images queued for this node ' +
      '(PUT /v2/cache/{image_id}, iris-manage cache queue), then cleans stalled files and prunes the cache.',
  },
  {
    section: 'iris',
    name: 'image_cache_min_free_space',
    type: 'size',
    default: '1GB',
    help:
      'Iris only. Free space the image cache always leaves on its filesystem: an image is not cached when ' +
      'writing it would leave less than this free (least recently used entries are pruned first to make room), ' +
      'so the cache never fills the disk. A number of bytes, optionally with a unit (KB, MB, GB, TB; powers of 1024).',
  },
  {
    section: 'image_format',
    name: 'disk_formats',
    type: 'list',
    default: 'ami,ari,aki,vhd,vhdx,vmdk,raw,qcow2,vdi,iso,ploop',
    deprecatedNames: [{ section: 'DEFAULT', name: 'disk_formats' }],
    help:
      'Comma-separated disk formats an image may declare. The old spelling [DEFAULT] disk_formats is still ' +
      'read when this option is set nowhere, with a deprecation warning.',
  },
  {
    section: 'image_format',
    name: 'container_formats',
    type: 'list',
    default: 'ami,ari,aki,bare,ovf,ova,docker,compressed',
    deprecatedNames: [{ section: 'DEFAULT', name: 'container_formats' }],
    help:
      'Comma-separated container formats an image may declare. The old spelling [DEFAULT] container_formats ' +
      'is still read when this option is set nowhere, with a deprecation warning.',
  },
  // Format inspection (src/format/): the two options Glance added with its inspector.
  {
    section: 'image_format',
    name: 'require_image_format_match',
    type: 'boolean',
    default: 'true',
    help:
      "Whether uploaded data must be of the image's disk_format. Every upload is inspected as it streams in; " +
      'when this is true (the default, as in Glance since 2025.1) data of another format is refused with ' +
      '400 Bad Request and the image stays queued: qcow2 bytes declared raw, raw bytes declared qcow2, and so on. ' +
      'When false, such data is accepted without a virtual_size. Only bare (or unset) container formats are ' +
      'checked, and formats no inspector knows (ami, ari, aki, ploop) are always accepted. Unsafe images are ' +
      'refused whatever this says: a qcow2 with a backing file, an external data file or unknown features, a ' +
      'VMDK other than monolithicSparse or streamOptimized or naming other files, QED, truncated or impossible ' +
      'headers, and data that matches several formats.',
  },
  {
    section: 'image_format',
    name: 'gpt_safety_checks_nonfatal',
    type: 'list',
    default: '',
    help:
      'Partition-table checks whose failure does not refuse an image detected as a partitioned raw disk. ' +
      'mbr: the MBR has valid boot flags and at least one partition. gptmbr: a GPT protective MBR holds only ' +
      'the GPT entry, from sector 1, and the GPT header is intact. Glance 2025.1 made mbr non-fatal by default ' +
      'and later releases made every check fatal (an empty list); Iris follows the later releases. List ' +
      'checks here only for existing images that break the specification, such as some widely distributed ' +
      'cloud images with a non-compliant protective MBR.',
    convert: (value: readonly string[]) => {
      const unknown = value.filter((name) => name !== 'mbr' && name !== 'gptmbr');
      if (unknown.length > 0) throw new Error(`unknown check ${unknown.join(', ')} (the checks are mbr and gptmbr)`);
      return value;
    },
  },
  {
    section: 'database',
    name: 'connection',
    type: 'string',
    default: (ctx: OptionContext) => `sqlite:///${join(ctx.dataDir, 'iris.sqlite')}`,
    defaultText: 'sqlite:///<data_dir>/iris.sqlite',
    help:
      'SQLAlchemy-style URL of the database, as Glance spells it. SQLite: sqlite:///relative/path (relative ' +
      'to the working directory) or sqlite:////absolute/path. PostgreSQL: postgresql://user:password@host[:port]/db ' +
      '(also postgres://, postgresql+psycopg2://; a unix socket as ?host=/var/run/postgresql). MySQL/MariaDB: ' +
      'mysql+pymysql://user:password@host[:port]/db?charset=utf8mb4 (also mysql://, mariadb://; a unix socket ' +
      'as ?unix_socket=/path). The +driver part is accepted and ignored; percent-encode special characters in ' +
      'the password. Iris always talks utf8mb4 to MySQL/MariaDB (charset=utf8 is accepted). The default is ' +
      'iris.sqlite in data_dir.',
    convert: (value: string, ctx: OptionContext) => {
      parseDatabaseUrl(value, ctx.cwd);
      return value;
    },
  },
  {
    section: 'database',
    name: 'max_pool_size',
    type: 'integer',
    default: '5',
    min: 0,
    help:
      'PostgreSQL and MySQL/MariaDB: connections each API process keeps open. 0 means no limit. Ignored for ' +
      'SQLite (one in-process handle).',
  },
  {
    section: 'database',
    name: 'max_overflow',
    type: 'integer',
    default: '50',
    min: 0,
    help:
      'PostgreSQL and MySQL/MariaDB: extra connections opened under load beyond max_pool_size and closed once ' +
      'idle, so a process holds at most max_pool_size + max_overflow connections.',
  },
  {
    section: 'database',
    name: 'pool_timeout',
    type: 'integer',
    default: '30',
    min: 1,
    help:
      'PostgreSQL and MySQL/MariaDB: seconds a request waits for a free pooled connection (and for a new ' +
      'connection to open) before it fails with 503. Glance leaves it unset, which means SQLAlchemy\'s 30 seconds.',
  },
  {
    section: 'database',
    name: 'connection_recycle_time',
    type: 'integer',
    default: '3600',
    min: 0,
    help:
      'PostgreSQL: seconds after which a pooled connection is closed and replaced (0 = never). MySQL/MariaDB: ' +
      'idle connections beyond max_pool_size are closed after at most min(this, 60) seconds.',
  },
  {
    section: 'database',
    name: 'max_retries',
    type: 'integer',
    default: '10',
    min: -1,
    help:
      'PostgreSQL and MySQL/MariaDB: how many more times iris-api and iris-manage try to reach the database at ' +
      'start before giving up; -1 tries forever.',
  },
  {
    section: 'database',
    name: 'retry_interval',
    type: 'integer',
    default: '10',
    min: 0,
    help: 'Seconds between the start-up attempts to reach the database (see max_retries).',
  },
  {
    section: 'database',
    name: 'mysql_sql_mode',
    type: 'string',
    default: 'TRADITIONAL',
    help:
      'MySQL/MariaDB: the sql_mode set on every connection. TRADITIONAL makes invalid or truncated values ' +
      'errors instead of warnings. Empty keeps the server\'s own mode.',
  },
  {
    section: 'glance_store',
    name: 'default_backend',
    type: 'string',
    default: '',
    defaultText: '<None>',
    help:
      'With [DEFAULT] enabled_backends: the id of the store that receives image data when the request names ' +
      'none. It must be one of the enabled ids and, as in Glance, it is required in that mode. Ignored ' +
      'without enabled_backends.',
  },
  {
    section: 'glance_store',
    name: 'default_store',
    type: 'string',
    default: 'file',
    help:
      'Store type that new image data is written to (without enabled_backends): file, swift, s3 or rbd (http is ' +
      'read-only), and one of [glance_store] stores. A Glance type Iris lacks (cinder, vmware) stops the start.',
    convert: (value: string) => checkStoreType(value),
  },
  {
    section: 'glance_store',
    name: 'stores',
    type: 'list',
    default: 'file',
    help:
      "Comma-separated store types that are enabled (without enabled_backends): file, swift, s3, http, rbd (the " +
      "install guide's file,http serves images whose location is an http(s) URL). Each type's options are " +
      "read from [glance_store]. A Glance type Iris lacks stops the start. Glance's default is file,http; " +
      "Iris's is file.",
    convert: (value: readonly string[]) => {
      for (const type of value) checkStoreType(type);
      return value;
    },
  },
  {
    section: 'glance_store',
    name: 'filesystem_store_datadir',
    type: 'path',
    default: (ctx: OptionContext) => join(ctx.dataDir, 'images'),
    defaultText: '<data_dir>/images',
    help:
      'Directory where the file store keeps image data. A relative path is relative to the working ' +
      "directory. The default is images under data_dir (Glance's is /var/lib/glance/images/).",
  },
  ...storeTypeRows('glance_store'),
  {
    section: 'os_glance_staging_store',
    name: 'filesystem_store_datadir',
    type: 'path',
    default: (ctx: OptionContext) => join(ctx.dataDir, 'staging'),
    defaultText: '<data_dir>/staging',
    help:
      "With [DEFAULT] enabled_backends: directory of Glance's reserved staging store, where image data " +
      'uploaded for glance-direct import waits until it is imported (without enabled_backends, ' +
      "[DEFAULT] node_staging_uri says where). Glance's default is /var/lib/glance/os_glance_staging_store.",
  },
  {
    section: 'os_glance_tasks_store',
    name: 'filesystem_store_datadir',
    type: 'path',
    default: (ctx: OptionContext) => join(ctx.dataDir, 'tasks_work_dir'),
    defaultText: '<data_dir>/tasks_work_dir',
    help:
      "Directory of Glance's reserved tasks store, where import tasks keep their work files (for example " +
      "data downloaded by web-download before it is written to a store). Glance's default is " +
      '/var/lib/glance/os_glance_tasks_store.',
  },
  {
    section: 'task',
    name: 'task_time_to_live',
    type: 'integer',
    default: '48',
    min: 0,
    deprecatedNames: [{ section: 'DEFAULT', name: 'task_time_to_live' }],
    help:
      'Hours a task is kept after it succeeds or fails; after that it may be deleted. The old spelling ' +
      '[DEFAULT] task_time_to_live is still read when this option is set nowhere, with a deprecation warning.',
  },
  {
    section: 'import_filtering_opts',
    name: 'allowed_schemes',
    type: 'list',
    default: 'http,https',
    help:
      'URL schemes web-download may fetch from. When this list is not empty it is the only scheme check ' +
      'and disallowed_schemes is ignored; leave it empty to use disallowed_schemes instead. Brackets around ' +
      'the list are allowed.',
    convert: schemeList,
  },
  {
    section: 'import_filtering_opts',
    name: 'disallowed_schemes',
    type: 'list',
    default: '',
    help: 'URL schemes web-download refuses; only consulted when allowed_schemes is empty.',
    convert: schemeList,
  },
  {
    section: 'import_filtering_opts',
    name: 'allowed_hosts',
    type: 'list',
    default: '',
    help:
      'Host names or IP addresses web-download may fetch from (as in the URL, without port). When this list ' +
      'is not empty it is the only host check and disallowed_hosts is ignored.',
    convert: hostList,
  },
  {
    section: 'import_filtering_opts',
    name: 'disallowed_hosts',
    type: 'list',
    default: '',
    help: 'Host names or IP addresses web-download refuses; only consulted when allowed_hosts is empty.',
    convert: hostList,
  },
  {
    section: 'import_filtering_opts',
    name: 'allowed_ports',
    type: 'list',
    default: '80,443',
    help:
      'TCP ports (1-65535) web-download may fetch from. As in Glance, only a port written in the URL is ' +
      'checked: a URL without one passes. When this list is not empty it is the only port check and ' +
      'disallowed_ports is ignored. Brackets are allowed: [80,443].',
    convert: portList,
  },
  {
    section: 'import_filtering_opts',
    name: 'disallowed_ports',
    type: 'list',
    default: '',
    help: 'TCP ports web-download refuses; only consulted when allowed_ports is empty.',
    convert: portList,
  },
  {
    section: 'import_filtering_opts',
    name: 'allow_private_networks',
    type: 'boolean',
    default: 'false',
    help:
      'Iris only. Whether web-download may connect to private and other non-public addresses (10/8, ' +
      '172.16/12, 192.168/16, fc00::/7, 100.64/10, reserved ranges). When false (the default) such addresses ' +
      'are refused whatever the lists above allow: the check is made on the address actually connected to, ' +
      'after name resolution, for the first request and for every redirect, so a public name that resolves to ' +
      'an internal address, or a redirect to one, is refused too. Set it to true only when images are ' +
      'downloaded from an internal network. Loopback, link-local (cloud metadata), unspecified, multicast ' +
      'and broadcast addresses stay refused even then (see allow_loopback). (Glance refuses only loopback ' +
      'and link-local addresses, and none for a host in allowed_hosts.)',
  },
  {
    section: 'import_filtering_opts',
    name: 'allow_loopback',
    type: 'boolean',
    default: 'false',
    help:
      'Iris only, for development and tests: also let web-download connect to loopback addresses ' +
      '(127.0.0.0/8, ::1), e.g. an image server on the same host. Never enable it in production: loopback ' +
      'reaches services that trust local callers.',
  },
  // Import plugins (src/import/plugins/): Glance's option names and sections.
  {
    section: 'image_import_opts',
    name: 'image_import_plugins',
    type: 'list',
    default: '',
    help:
      'Plugins run, in this order, on the staged data of glance-direct and web-download imports before it ' +
      'goes to the stores (never on copy-image): image_decompression (gzip, zip or LHA data is decompressed), ' +
      'image_conversion (the image is converted to [image_conversion] output_format with qemu-img, after the ' +
      'format inspector has checked it), inject_image_metadata (properties from [inject_metadata_properties] ' +
      'are added), no_op (does nothing). Brackets are allowed, as in Glance: [image_decompression,image_conversion]. ' +
      'Empty (the default): no plugins. The tools are found on PATH: qemu-img (Debian qemu-utils) for ' +
      'image_conversion, unzip and lha (Debian unzip and lhasa) for zip and LHA data; gzip needs none.',
    convert: namesFrom('import plugin', 'plugins', IMPORT_PLUGINS),
  },
  {
    section: 'image_conversion',
    name: 'output_format',
    type: 'string',
    default: 'raw',
    help:
      'Disk format the image_conversion import plugin converts images to: raw, qcow2 or vmdk (the choices ' +
      'Glance allows). Images already in this format are not converted. Sources must be raw, qcow2, vmdk, vhd, ' +
      'vhdx or vdi and must be of their declared disk_format; other disk formats (iso, ami, ploop...) fail the ' +
      'import when the plugin is enabled, as in Glance.',
    convert: (value: string) => {
      if (!CONVERSION_OUTPUT_FORMATS.includes(value)) {
        throw new Error(`${JSON.stringify(value)} is not one of ${CONVERSION_OUTPUT_FORMATS.join(', ')}`);
      }
      return value;
    },
  },
  {
    section: 'inject_metadata_properties',
    name: 'ignore_user_roles',
    type: 'list',
    default: 'admin',
    help:
      'The inject_image_metadata import plugin adds nothing to images imported by a caller holding any of ' +
      'these roles (compared without regard to case).',
  },
  {
    section: 'inject_metadata_properties',
    name: 'inject',
    type: 'string',
    default: '',
    help:
      'Properties the inject_image_metadata import plugin sets on imported images, as key:value pairs ' +
      'separated by commas (oslo.config dict syntax: k1:v1,k2:v2; a value may contain ":" but not ","). They ' +
      "overwrite the image's own values. Keys in Glance's reserved namespace (os_glance...) are dropped at " +
      'import with a warning, as in Glance; keys longer than 255 characters and image attribute names (name, ' +
      'status, disk_format...) are refused at start.',
    convert: parseInjectedProperties,
  },
  {
    section: 'glance_download_properties',
    name: 'extra_properties',
    type: 'list',
    default: 'hw_,trait:,os_distro,os_secure_boot,os_type',
    help:
      'glance-download: prefixes of the remote image\'s properties that the imported image receives; the ' +
      'others are not copied. Properties in Glance\'s reserved namespace (os_glance...) and the image ' +
      'attributes os_hash_algo, os_hash_value and os_hidden are never copied. Items may be quoted and the ' +
      'list bracketed, as in Glance: [\'os_\',architecture].',
  },
  {
    section: 'paste_deploy',
    name: 'flavor',
    type: 'string',
    default: '',
    defaultText: '<None>',
    help:
      'Request pipeline. Empty (or hybrid) selects Iris\'s default: a request without identity headers acts ' +
      'as an unauthenticated admin, one with X-Project-Id/X-Roles headers gets that identity. noauth ignores ' +
      'identity headers. keystone validates X-Auth-Token with Keystone ([keystone_authtoken]); apikey accepts ' +
      'API keys made with iris-manage key create ([iris_auth] api_key_file). With keystone and apikey, ' +
      'identity headers sent by clients are ignored; /, /versions and /healthcheck stay anonymous.',
    convert: (value: string) => {
      if (!SUPPORTED_FLAVORS.has(value)) {
        throw new Error(
          `flavor ${JSON.stringify(value)} is not supported; leave it empty or use hybrid, noauth, keystone or apikey`,
        );
      }
      return value === '' ? 'hybrid' : value;
    },
  },
  {
    section: 'keystone_authtoken',
    name: 'www_authenticate_uri',
    type: 'string',
    default: '',
    defaultText: '<auth_url>',
    deprecatedNames: [{ section: 'keystone_authtoken', name: 'auth_uri' }],
    help:
      'Public Identity endpoint put in the WWW-Authenticate: Keystone uri="..." header of 401 replies, so ' +
      'clients know where to get a token (flavor keystone). Unset means auth_url.',
    convert: (value: string) => (value === '' ? null : httpUrl(value)),
  },
  {
    section: 'keystone_authtoken',
    name: 'auth_url',
    type: 'string',
    default: '',
    defaultText: '<None>',
    help:
      'Keystone URL Iris authenticates its own service user against and validates tokens with, e.g. ' +
      'http://keystone:5000/v3 (a URL without /v3 gets it appended). Required by flavor keystone.',
    convert: (value: string) => (value === '' ? null : httpUrl(value)),
  },
  {
    section: 'keystone_authtoken',
    name: 'auth_type',
    type: 'string',
    default: 'password',
    help: 'How Iris authenticates its service user to Keystone. Only password (Identity v3) is supported.',
    convert: (value: string) => {
      if (value !== 'password') throw new Error(`auth_type ${JSON.stringify(value)} is not supported; use password`);
      return value;
    },
  },
  {
    section: 'keystone_authtoken',
    name: 'username',
    type: 'string',
    default: '',
    defaultText: '<None>',
    help: "The service user's name (usually glance). It needs the service role (or admin) to validate tokens.",
  },
  {
    section: 'keystone_authtoken',
    name: 'password',
    type: 'string',
    default: '',
    defaultText: '<None>',
    help: "The service user's password. Never logged.",
  },
  {
    section: 'keystone_authtoken',
    name: 'project_name',
    type: 'string',
    default: '',
    defaultText: '<None>',
    help: 'Project the service user\'s token is scoped to (usually service).',
  },
  {
    section: 'keystone_authtoken',
    name: 'user_domain_name',
    type: 'string',
    default: 'Default',
    help: "Domain of the service user. Iris defaults to Default (keystoneauth has no default).",
  },
  {
    section: 'keystone_authtoken',
    name: 'project_domain_name',
    type: 'string',
    default: 'Default',
    help: "Domain of project_name. Iris defaults to Default (keystoneauth has no default).",
  },
  {
    section: 'keystone_authtoken',
    name: 'service_token_roles',
    type: 'list',
    default: 'service',
    help:
      'Roles an X-Service-Token must carry (any one of them) for the request to be treated as coming from ' +
      'a service: its user token is then accepted even when expired, as keystonemiddleware does.',
    convert: (value: readonly string[]) => value.map((role) => role.toLowerCase()),
  },
  {
    section: 'keystone_authtoken',
    name: 'service_token_roles_required',
    type: 'boolean',
    default: 'false',
    help:
      'When true, a valid X-Service-Token without one of service_token_roles is rejected (401). When false ' +
      '(keystonemiddleware\'s backwards-compatible default) it is accepted but grants nothing.',
  },
  {
    section: 'keystone_authtoken',
    name: 'token_cache_time',
    type: 'integer',
    default: '300',
    min: -1,
    max: 3600,
    help:
      'Seconds a validated token is remembered in-process, so that Keystone is not asked on every request. ' +
      'Only valid tokens are cached, never past their expiry; a token revoked in Keystone keeps working here ' +
      'for at most this long. -1 or 0 asks Keystone every time.',
  },
  {
    section: 'keystone_authtoken',
    name: 'token_cache_size',
    type: 'integer',
    default: '10000',
    min: 1,
    help: 'Iris only. Most tokens kept in the in-process cache; the least recently used is dropped first.',
  },
  {
    section: 'keystone_authtoken',
    name: 'http_connect_timeout',
    type: 'integer',
    default: '5',
    min: 1,
    max: 120,
    help:
      'Seconds one request may spend talking to Keystone (getting the service token and validating the ' +
      "caller's), after which it is answered 503 instead of waiting. keystonemiddleware's option of the " +
      'same name bounds each HTTP call and has no default; Iris bounds the whole check and defaults to 5.',
  },
  ignoredKeystone('memcached_servers'),
  ignoredKeystone('memcache_security_strategy'),
  ignoredKeystone('memcache_secret_key'),
  ignoredKeystone('region_name'),
  {
    section: 'iris_auth',
    name: 'api_key_file',
    type: 'path',
    default: (ctx: OptionContext) => join(ctx.dataDir, 'api-keys.json'),
    defaultText: '<data_dir>/api-keys.json',
    help:
      'Iris only. File holding the API keys of flavor apikey (SHA-256 digests, never the keys), managed with ' +
      'iris-manage key create/list/revoke. The server notices changes within a second.',
  },
  {
    section: 'oslo_policy',
    name: 'policy_file',
    type: 'string',
    default: 'policy.yaml',
    help:
      "YAML or JSON file of policy rules (Glance's rule names, oslo.policy's rule language) that override the " +
      'defaults; see docs/policy.md. A relative name is looked for in the directories of the configuration ' +
      'files read, then in the working directory. The default name is used only when such a file exists; a ' +
      'file named here explicitly must exist. Any error in the file stops the server at start (oslo.policy ' +
      'would log it and refuse the rule, or ignore a missing file). A running server rereads the file (and ' +
      'the property protection file) within a second of a change, as oslo.policy does; a changed file that ' +
      'no longer parses is logged and the rules read before stay in force.',
  },
  {
    section: 'oslo_policy',
    name: 'enforce_new_defaults',
    type: 'boolean',
    default: 'false',
    help:
      "Enforce only the new (project-scoped reader/member/admin) default rules, and drop the owner checks Glance " +
      "makes in code (Glance's [DEFAULT] enforce_secure_rbac, which must equal this option there). False, as in " +
      'Glance 25.1.0: each rule is the new rule or the deprecated one, which allows everyone, so owners and ' +
      'visibility decide.',
  },
  {
    section: 'oslo_policy',
    name: 'enforce_scope',
    type: 'boolean',
    default: 'false',
    help:
      "Refuse callers whose token scope (system, domain, project) is not one the rule was registered for; all of " +
      "Glance's image rules are project-scoped. False, as in Glance 25.1.0.",
  },
  {
    section: 'DEFAULT',
    name: 'property_protection_file',
    type: 'string',
    default: '',
    defaultText: '<None>',
    help:
      'INI file restricting who may create, read, update and delete which extra image properties (sections are ' +
      'regular expressions over property names; see docs/policy.md). A relative name is looked for beside the ' +
      'configuration files read, then in the working directory. Unset: no property protections. A file that ' +
      'is missing or malformed stops the server at start, as in Glance.',
    convert: (value: string) => (value === '' ? null : value),
  },
  {
    section: 'DEFAULT',
    name: 'property_protection_rule_format',
    type: 'string',
    default: 'roles',
    help:
      'How the property protection file names who may do an operation: `roles` (comma-separated roles) or ' +
      '`policies` (one rule name of the policy file per operation).',
    convert: (value: string) => {
      const format = value.trim().toLowerCase();
      if (format !== 'roles' && format !== 'policies') throw new Error(`${JSON.stringify(value)} must be roles or policies`);
      return format;
    },
  },
  {
    section: 'healthcheck',
    name: 'disable_by_file_path',
    type: 'string',
    default: '',
    defaultText: '<None>',
    help:
      'While this file exists, GET /healthcheck answers 503 "DISABLED BY FILE" (HEAD: 503 without a body) ' +
      'instead of 200 "OK", so a load balancer stops sending new requests to this node (oslo.middleware\'s ' +
      'disable_by_file health check, which Glance sets in its paste file). Unset: always healthy.',
    convert: (value: string) => (value === '' ? null : value),
  },
  {
    section: 'healthcheck',
    name: 'detailed',
    type: 'boolean',
    default: 'false',
    help:
      'Let admins see the detailed view of /healthcheck (oslo.middleware\'s detailed output: every check with its ' +
      'details, the host, time and runtime): a request whose credentials (a token, or identity headers in the ' +
      'header flavors) authenticate as an admin gets it, and it runs every check (disable_by_file, database, ' +
      'stores, messaging). Anyone else, and every request while this is false, gets the plain view.',
  },
  {
    section: 'healthcheck',
    name: 'backends',
    type: 'list',
    default: 'disable_by_file',
    help:
      'The checks every /healthcheck answer runs; any unavailable one makes it 503. disable_by_file (as in ' +
      'Glance\'s paste file), and Iris\'s database (a trivial query), stores (a cheap probe of each store) and ' +
      'messaging (the notifier reaches its broker). Keep the default for a load balancer\'s check unless a ' +
      'node should leave the pool when its database or stores fail.',
    convert: (value: readonly string[]) => {
      for (const name of value) {
        if (!(HEALTH_BACKENDS as readonly string[]).includes(name)) throw new Error(`${JSON.stringify(name)} is not one of ${HEALTH_BACKENDS.join(', ')}`);
      }
      return value;
    },
  },
  {
    section: 'oslo_middleware',
    name: 'enable_proxy_headers_parsing',
    type: 'boolean',
    default: 'false',
    help:
      'Behind a proxy or load balancer that sets them (HAProxy, see docs/deployment.md): build the links the ' +
      'API returns (version list, Location headers) from the Forwarded header (proto, host), or else from ' +
      'X-Forwarded-Proto and X-Forwarded-Host, as oslo.middleware\'s http_proxy_to_wsgi in Glance\'s ' +
      'pipeline (X-Forwarded-Prefix is not used). Only for a proxy that sets or strips these headers: clients must ' +
      'not be able to choose them. public_endpoint, when set, wins over them.',
  },
  {
    section: 'cors',
    name: 'allowed_origin',
    type: 'list',
    default: '',
    help:
      'Origins (scheme://host[:port], no trailing slash) whose browser requests may read the API\'s answers, ' +
      'as oslo.middleware\'s CORS filter in Glance\'s pipeline; `*` allows any origin. Empty: no CORS headers ' +
      'are ever sent. A preflight (OPTIONS with Origin and Access-Control-Request-Method) is answered 200 ' +
      'before authentication; OPTIONS is answered 200 on every path, as in Glance.',
  },
  {
    section: 'cors',
    name: 'allow_credentials',
    type: 'boolean',
    default: 'true',
    help: 'Send Access-Control-Allow-Credentials: true to allowed origins, so browsers may send credentials.',
  },
  {
    section: 'cors',
    name: 'expose_headers',
    type: 'list',
    default: 'X-Image-Meta-Checksum,X-Auth-Token,X-Subject-Token,X-Service-Token,X-OpenStack-Request-ID',
    help: "Response headers a browser script of an allowed origin may read (Access-Control-Expose-Headers); Glance's defaults.",
  },
  {
    section: 'cors',
    name: 'max_age',
    type: 'integer',
    default: '3600',
    min: 0,
    help: 'How long (seconds) a browser may cache a preflight answer (Access-Control-Max-Age); 0 sends no such header.',
  },
  {
    section: 'cors',
    name: 'allow_methods',
    type: 'list',
    default: 'GET,PUT,POST,DELETE,PATCH',
    help: "Methods a preflight may ask for (compared case-sensitively, as oslo.middleware does); Glance's defaults.",
  },
  {
    section: 'cors',
    name: 'allow_headers',
    type: 'list',
    default:
      'Content-MD5,X-Image-Meta-Checksum,X-Storage-Token,Accept-Encoding,X-Auth-Token,X-Identity-Status,X-Roles,' +
      'X-Service-Catalog,X-User-Id,X-Tenant-Id,X-OpenStack-Request-ID',
    help:
      "Request headers a preflight may ask for besides the simple ones (Accept, Accept-Language, Content-Type, " +
      "Cache-Control, Content-Language, Expires, Last-Modified, Pragma); compared case-insensitively; Glance's defaults.",
  },
  // Notifications (src/notify/, docs/notifications.md): oslo.messaging's options, as Glance reads them.
  {
    section: 'oslo_messaging_notifications',
    name: 'driver',
    type: 'list',
    default: '',
    help:
      'Where notifications go: messagingv2 (RabbitMQ, oslo.messaging message format 2.0, what consumers of ' +
      "Glance's notifications expect), messaging (format 1.0, no envelope), log (one JSON line per notification " +
      'in the log), noop. Several may be listed, comma-separated. Empty: no notifications are sent (oslo\'s default).',
    convert: (value: readonly string[]) => {
      for (const d of value) {
        if (!(NOTIFICATION_DRIVERS as readonly string[]).includes(d)) {
          throw new Error(`notification driver ${JSON.stringify(d)} is not supported; use ${NOTIFICATION_DRIVERS.join(', ')}`);
        }
      }
      return value;
    },
  },
  {
    section: 'oslo_messaging_notifications',
    name: 'transport_url',
    type: 'string',
    default: '',
    defaultText: '<None>',
    help:
      'The broker notifications are published to: rabbit://user:password@host:port/vhost; several hosts, ' +
      'comma-separated (rabbit://u:p@h1:5672,u:p@h2:5672/), are tried in turn. Unset: [DEFAULT] transport_url.',
    convert: (value: string) => {
      if (value !== '') parseTransportUrl(value);
      return value === '' ? null : value;
    },
  },
  {
    section: 'oslo_messaging_notifications',
    name: 'topics',
    type: 'list',
    default: 'notifications',
    help: 'Topics notifications are published to; a notification goes to every topic, with routing key <topic>.<priority> (notifications.info).',
  },
  {
    section: 'oslo_messaging_notifications',
    name: 'retry',
    type: 'integer',
    default: '-1',
    min: -1,
    help:
      'How many times a notification the broker refused or did not confirm (connection lost) is sent again; ' +
      '-1: as long as it stays in the outbound queue ([iris] notification_queue_size).',
  },
  {
    section: 'DEFAULT',
    name: 'transport_url',
    type: 'string',
    default: 'rabbit://',
    help: "The messaging transport (oslo.messaging's option): the notifications' broker unless [oslo_messaging_notifications] transport_url is set. rabbit:// is guest:guest@localhost:5672.",
    convert: (value: string) => {
      parseTransportUrl(value);
      return value;
    },
  },
  {
    section: 'DEFAULT',
    name: 'control_exchange',
    type: 'string',
    default: 'glance',
    help: 'The exchange (topic, not durable) notifications are published to; Glance sets glance.',
  },
  {
    section: 'DEFAULT',
    name: 'disabled_notifications',
    type: 'list',
    default: '',
    help:
      'Notifications not to send: event types (image.create) or groups (image, image.member, task), or ' +
      'patterns (image.*). A group also covers its sub-groups (image covers image.member.create).',
  },
  {
    section: 'DEFAULT',
    name: 'default_publisher_id',
    type: 'string',
    default: 'image.localhost',
    help: 'The publisher_id of every notification (Glance: image.<host>).',
  },
  {
    section: 'iris',
    name: 'notification_queue_size',
    type: 'integer',
    default: '10000',
    min: 1,
    help:
      'Notifications held in memory while the broker is down or slow; when full, new ones are dropped, counted ' +
      'and logged, so a broker never holds up or fails a request.',
  },
  {
    section: 'iris',
    name: 'notification_request_context',
    type: 'boolean',
    default: 'false',
    help:
      "Add the ids of the request behind each notification to the message as oslo.messaging's context keys " +
      '(_context_request_id, _context_global_request_id, _context_user_id, _context_project_id; for an import ' +
      'task, those of the request that created it). Glance sends none.',
  },
] satisfies ConfigOption[]);

/** How the per-store section is named in the sample and docs: really the store's id. */
export const BACKEND_SECTION_PLACEHOLDER = '<backend id>';

/**
 * The options of each store's own section when [DEFAULT] enabled_backends is set: section
 * `[<id>]` (case-folded like every non-DEFAULT section), environment IRIS__<ID>__<OPTION>. Read
 * only for enabled ids; they become the store's entry in `Config.backends`.
 */
export const BACKEND_OPTIONS: readonly ConfigOption[] = Object.freeze([
  {
    section: BACKEND_SECTION_PLACEHOLDER,
    name: 'filesystem_store_datadir',
    type: 'path',
    default: (ctx: OptionContext) => join(ctx.dataDir, 'images', ctx.storeId ?? ''),
    defaultText: '<data_dir>/images/<backend id>',
    help:
      'Directory where this file store keeps image data. A relative path is relative to the working ' +
      "directory. Two stores may not share a directory, nor use the staging or tasks store's. Glance's " +
      'default is /var/lib/glance/images/ for every store.',
  },
  {
    section: BACKEND_SECTION_PLACEHOLDER,
    name: 'store_description',
    type: 'string',
    default: '',
    defaultText: '<None>',
    help: 'Human-readable description of this store, shown to users by GET /v2/info/stores.',
    convert: (value: string) => (value === '' ? null : value),
  },
  // The type's own group (swift_store_*, s3_store_*, https_*), as in [glance_store].
  ...storeTypeRows(BACKEND_SECTION_PLACEHOLDER),
] satisfies ConfigOption[]);

/** Where an option's value lives: `[iris]` options are top-level fields of Config. */
/** The sections Iris reads itself, lower-case: no store id may take one of their names. */
export function ownSections(): ReadonlySet<string> {
  return new Set(['default', ...CONFIG_OPTIONS.map((o) => o.section.toLowerCase())]);
}

export function isTopLevel(option: Pick<ConfigOption, 'section'>): boolean {
  return option.section === 'iris';
}

/** The generic environment variable for an option, e.g. IRIS__DEFAULT__WORKERS. */
export function envNameOf(option: Pick<ConfigOption, 'section' | 'name'>): string {
  return `IRIS__${option.section.toUpperCase()}__${option.name.toUpperCase()}`;
}

/** A short description of an option's type and bounds, for the sample and docs. */
export function describeType(option: ConfigOption): string {
  const bounds: string[] = [];
  if (option.min !== undefined) bounds.push(`minimum ${option.min}`);
  if (option.max !== undefined) bounds.push(`maximum ${option.max}`);
  const names: Record<OptionType, string> = {
    string: 'string',
    integer: 'integer',
    boolean: 'boolean (true/false, yes/no, on/off, 1/0)',
    list: 'comma-separated list',
    size: 'size (bytes, or with unit B/KB/MB/GB/TB)',
    path: 'path',
  };
  return bounds.length === 0 ? names[option.type] : `${names[option.type]}; ${bounds.join(', ')}`;
}

/**
 * Parses one raw string (from a file or the environment) into the option's typed value,
 * applying bounds and the option's own check. Throws an Error whose message is only the
 * reason; the loader adds where the value came from.
 */
export function parseOptionValue(option: ConfigOption, raw: string, ctx: OptionContext): unknown {
  const value = parseByType(option, raw, ctx);
  if (option.convert === undefined) return value;
  return (option.convert as (v: unknown, c: OptionContext) => unknown)(value, ctx);
}

function parseByType(option: ConfigOption, raw: string, ctx: OptionContext): unknown {
  switch (option.type) {
    case 'string':
      return raw;
    case 'integer':
      return parseInteger(raw, option.min, option.max);
    case 'boolean':
      return parseBoolean(raw);
    case 'list':
      return parseList(raw);
    case 'size':
      return parseSize(raw);
    case 'path':
      if (raw === '') throw new Error('must not be empty');
      return resolve(ctx.cwd, raw);
  }
}
