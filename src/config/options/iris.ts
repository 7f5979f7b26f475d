/** The [iris] section's rows of the option table (see ../config-options.ts). */
import { join } from 'node:path';
import type { ConfigOption, OptionContext } from '../option-types.js';

export const IRIS_OPTIONS = [
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
    section: 'iris',
    name: 'log_format',
    type: 'string',
    default: 'auto',
    help:
      'Iris only. text: one plain line per entry (time, pid, level, message, fields). json: one JSON object per ' +
      'line (pino). auto: text for a log file, syslog and a terminal; json when standard output or standard ' +
      'error is not a terminal (a pipe, journald, a container runtime), for log collectors.',
    convert: (value: string) => {
      if (value !== 'auto' && value !== 'text' && value !== 'json') throw new Error(`${JSON.stringify(value)} is not auto, text or json`);
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
  {
    section: 'iris',
    name: 'direct_transfers',
    type: 'boolean',
    default: 'true',
    help:
      'Iris only. An upload or stage of at least 1 MiB sent over plain HTTP with a Content-Length to a ' +
      'filesystem store is read straight from the socket by a thread of its own, and hashed, inspected and ' +
      'written there with large reads and writes, instead of through the event loop: less CPU per GiB and a ' +
      'faster upload. One thread per upload, at most as many as the cores available (at least 2); further ' +
      'uploads, TLS, chunked bodies, quota-metered uploads and other stores take the ordinary path. An ' +
      'upload taken this way ends its connection after the answer. A glance-direct import into a filesystem store ' +
      'on the staging area\'s filesystem links the staged file instead of copying it, and a thread reads it once ' +
      'for the digests and the format inspector. false = always the ordinary path.',
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
] as const satisfies readonly ConfigOption[];
