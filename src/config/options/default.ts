/** The [DEFAULT] section's rows of the option table (see ../config-options.ts). */
import { getHashes } from 'node:crypto';
import { join, resolve } from 'node:path';
import { IMPORT_METHODS } from '../../domain/import-method.js';
import { parseTransportUrl } from '../../notify/transport-url.js';
import { httpUrl, namesFrom, stagingPathFromUri, syslogFacility } from '../option-values.js';
import { parseEnabledBackends } from '../store-ids.js';
import { ownSections } from '../config-options.js';
import { ignoredOption, type ConfigOption, type OptionContext } from '../option-types.js';

export const DEFAULT_OPTIONS = [
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
    name: 'show_multiple_locations',
    type: 'boolean',
    default: 'false',
    help:
      'Whether images show their locations list and the locations may be changed with JSON-patch on /locations ' +
      "(docs/locations.md). Glance's deprecated option, kept because Nova and Cinder with shared Ceph or Swift " +
      'need it; it reveals store locations, so enable it only where the clients of the API are trusted services.',
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
      'Largest number of locations one image may have: adding one more with show_multiple_locations is rejected ' +
      'with 413, and a copy-image beyond it fails that store. A negative value means unlimited.',
  },
  {
    section: 'DEFAULT',
    name: 'do_secure_hash',
    type: 'boolean',
    default: 'true',
    help:
      'Whether POST /v2/images/{id}/locations (API v2.17) reads the new location\'s data to compute the ' +
      'checksum and os_hash_value (and checks them against validation_data). Off, the image takes the ' +
      'validation_data values as given, unchecked (docs/locations.md).',
  },
  {
    section: 'DEFAULT',
    name: 'http_retries',
    type: 'integer',
    default: '3',
    min: 0,
    help: 'How many times POST /v2/images/{id}/locations tries to read a location\'s data for its hash before giving up.',
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
  ignoredOption('DEFAULT', 'verbose', 'glance-api.conf loads without warnings; Iris does not use it (it logs to standard output).'),
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
      'API (/v2/cache, with v2.18\'s clean and prune) is offered and the version list shows v2.18 CURRENT, v2.16, ' +
      'v2.15 and v2.14 (see docs/cache.md). Unset: no ' +
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
      if (v !== 'centralized_db' && v !== 'sqlite' && v !== 'xattr') throw new Error(`${JSON.stringify(value)} is not centralized_db, sqlite or xattr`);
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
] as const satisfies readonly ConfigOption[];
