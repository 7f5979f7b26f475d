/**
 * Every Prometheus series Iris exposes, in one registry, and the recorders the other layers
 * call (see docs/metrics.md for the list). Layers never touch prom-client themselves: the HTTP
 * hooks, the blob store's trace and the database observer call the functions here, and the
 * figures that live elsewhere (task states, notifier) are read at scrape time through the
 * functions passed in.
 *
 * Labels are bounded sets: route templates (`/v2/images/:image_id`, never a raw URL), methods,
 * status codes, store ids, operation names. No image id, project or user ever becomes a label.
 */
import type { TransferStats } from '../blob/fd-transfer.js';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { DatabaseObserver } from '../persistence/observed-dialect.js';

/** What the notifier reports about its outbound queue (the notify worker's `stats()`). */
export interface NotifierStats {
  readonly sent: number;
  readonly dropped: number;
  readonly queued: number;
  readonly connected: boolean;
}

export interface MetricsSources {
  /** Live tasks by status, read at scrape time (one grouped query). */
  readonly taskStates?: () => Promise<Readonly<Record<string, number>>>;
  readonly notifierStats?: () => NotifierStats;
  /** The transfer threads' counts ([iris] direct_transfers). */
  readonly transferStats?: () => TransferStats;
  /** Most database connections the pool may open (1 for SQLite's single handle). */
  readonly databaseMaxConnections?: number;
  /** Told when a scrape-time source fails (the scrape still answers, without that series). */
  readonly onCollectError?: (what: string, err: unknown) => void;
}

/** One finished HTTP request, as the server's hooks saw it. */
export interface HttpObservation {
  readonly method: string;
  /** The matched route template, or `unmatched`. */
  readonly route: string;
  readonly status: number;
  readonly seconds: number;
  readonly bytesIn: number;
  readonly bytesOut: number;
}

/** One blob store operation (the blob store's trace fields this needs). */
export interface StoreObservation {
  readonly op: string;
  readonly store?: string | undefined;
  readonly ms?: number;
  readonly bytes?: number;
  readonly failed?: unknown;
  readonly complete?: unknown;
}

export type TransferKind = 'upload' | 'download';

export interface IrisMetrics {
  readonly registry: Registry;
  /** The Prometheus text exposition of every series. */
  render(): Promise<string>;
  readonly contentType: string;
  observeHttp(o: HttpObservation): void;
  /** Counts a transfer in flight; call the returned function exactly once when it ends. */
  transferStarted(kind: TransferKind): () => void;
  observeStore(o: StoreObservation): void;
  readonly database: DatabaseObserver;
}

/** Request latencies: 5 ms (a cached show) to 5 min (a large upload). */
const HTTP_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];
const STORE_BUCKETS = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300];
const DB_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5];

/**
 * @example
 *   const metrics = createIrisMetrics({ taskStates: () => countTaskStates(db) });
 *   metrics.observeHttp({ method: 'GET', route: '/v2/images', status: 200, seconds: 0.004, bytesIn: 120, bytesOut: 900 });
 *   const text = await metrics.render();
 */
export function createIrisMetrics(sources: MetricsSources = {}, registry = new Registry()): IrisMetrics {
  collectDefaultMetrics({ register: registry });
  const reportCollectError = sources.onCollectError ?? (() => undefined);

  const requests = new Counter({
    name: 'iris_http_requests_total',
    help: 'HTTP requests answered, by method, route template and status.',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'iris_http_request_duration_seconds',
    help: 'Time from the request line to the last byte of the answer, by method, route template and status.',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: HTTP_BUCKETS,
    registers: [registry],
  });
  const bytesIn = new Counter({
    name: 'iris_http_received_bytes_total',
    help: 'Bytes received on the connection for a request (headers and body), by route template.',
    labelNames: ['route'] as const,
    registers: [registry],
  });
  const bytesOut = new Counter({
    name: 'iris_http_sent_bytes_total',
    help: 'Bytes sent on the connection for a request (headers and body), by route template.',
    labelNames: ['route'] as const,
    registers: [registry],
  });
  const inFlight = new Gauge({
    name: 'iris_http_transfers_in_flight',
    help: 'Image data uploads (PUT file, stage) and downloads (GET file) in progress.',
    labelNames: ['kind'] as const,
    registers: [registry],
  });
  inFlight.set({ kind: 'upload' }, 0);
  inFlight.set({ kind: 'download' }, 0);

  const storeDuration = new Histogram({
    name: 'iris_store_operation_duration_seconds',
    help: 'Blob store operations by store id, operation (put, get, delete) and outcome (ok, error, aborted); a get lasts until its stream closes.',
    labelNames: ['store', 'operation', 'outcome'] as const,
    buckets: STORE_BUCKETS,
    registers: [registry],
  });
  const storeBytes = new Counter({
    name: 'iris_store_bytes_total',
    help: 'Image bytes written to (put) and read from (get) each store.',
    labelNames: ['store', 'operation'] as const,
    registers: [registry],
  });

  const queryDuration = new Histogram({
    name: 'iris_db_query_duration_seconds',
    help: 'Database statements by kind (select, insert, update, delete, other) and outcome (ok, error).',
    labelNames: ['operation', 'outcome'] as const,
    buckets: DB_BUCKETS,
    registers: [registry],
  });
  const acquireWait = new Histogram({
    name: 'iris_db_connection_wait_seconds',
    help: 'Time waiting for a database connection from the pool.',
    buckets: DB_BUCKETS,
    registers: [registry],
  });
  const connectionsInUse = new Gauge({
    name: 'iris_db_connections_in_use',
    help: 'Database connections checked out of the pool.',
    registers: [registry],
  });
  connectionsInUse.set(0);
  if (sources.databaseMaxConnections !== undefined) {
    new Gauge({
      name: 'iris_db_connections_max',
      help: 'Most database connections the pool may open (max_pool_size + max_overflow; 1 for SQLite).',
      registers: [registry],
    }).set(sources.databaseMaxConnections);
  }

  const taskStates = sources.taskStates;
  if (taskStates !== undefined) {
    new Gauge({
      name: 'iris_tasks',
      help: 'Tasks in the database (not deleted) by status, counted at scrape time.',
      labelNames: ['status'] as const,
      registers: [registry],
      // Every worker reads the same database: one answer, not their sum.
      aggregator: 'first',
      async collect() {
        try {
          const counts = await taskStates();
          this.reset();
          for (const status of TASK_STATUSES) this.set({ status }, counts[status] ?? 0);
        } catch (err) {
          this.reset();
          reportCollectError('task states', err);
        }
      },
    });
  }

  const notifierStats = sources.notifierStats;
  if (notifierStats !== undefined) {
    const counterOf = (name: string, help: string, pick: (s: NotifierStats) => number) =>
      new Counter({ name, help, registers: [registry], collect() { this.reset(); this.inc(pick(notifierStats())); } });
    counterOf('iris_notifications_sent_total', 'Notifications the broker confirmed.', (s) => s.sent);
    counterOf('iris_notifications_dropped_total', 'Notifications given up (queue full, or not deliverable).', (s) => s.dropped);
    new Gauge({
      name: 'iris_notifications_queued',
      help: 'Notifications waiting in the outbound queue.',
      registers: [registry],
      collect() { this.set(notifierStats().queued); },
    });
    new Gauge({
      name: 'iris_notifications_connected',
      help: '1 while the notifier is connected to its broker (or needs none), else 0.',
      registers: [registry],
      aggregator: 'min',
      collect() { this.set(notifierStats().connected ? 1 : 0); },
    });
  }

  const transferStats = sources.transferStats;
  if (transferStats !== undefined) {
    new Counter({
      name: 'iris_direct_transfers_total',
      help: 'Uploads and stages whose body a transfer thread read straight from the socket into the store.',
      registers: [registry],
      collect() {
        this.reset();
        this.inc(transferStats().receive);
      },
    });
    new Counter({
      name: 'iris_linked_files_total',
      help: 'Puts that hard-linked a file into a filesystem store and read it once on a transfer thread for its digests (glance-direct imports); refused or aborted ones count too.',
      registers: [registry],
      collect() {
        this.reset();
        this.inc(transferStats().digest);
      },
    });
    new Counter({
      name: 'iris_direct_transfers_busy_total',
      help: 'Bodies that could have gone to a transfer thread but found all of them busy (they took the event loop).',
      registers: [registry],
      collect() {
        this.reset();
        this.inc(transferStats().busy);
      },
    });
  }

  return {
    registry,
    contentType: registry.contentType,
    render: () => registry.metrics(),
    observeHttp(o) {
      const labels = { method: o.method, route: o.route, status: String(o.status) };
      requests.inc(labels);
      duration.observe(labels, o.seconds);
      if (o.bytesIn > 0) bytesIn.inc({ route: o.route }, o.bytesIn);
      if (o.bytesOut > 0) bytesOut.inc({ route: o.route }, o.bytesOut);
    },
    transferStarted(kind) {
      inFlight.inc({ kind });
      let ended = false;
      return () => {
        if (ended) return;
        ended = true;
        inFlight.dec({ kind });
      };
    },
    observeStore(o) {
      if (o.ms === undefined || (o.op !== 'put' && o.op !== 'get' && o.op !== 'delete')) return;
      const store = o.store ?? 'unknown';
      const outcome = o.failed !== undefined ? 'error' : o.complete === false ? 'aborted' : 'ok';
      storeDuration.observe({ store, operation: o.op, outcome }, o.ms / 1000);
      if (o.bytes !== undefined && o.bytes > 0 && o.op !== 'delete') storeBytes.inc({ store, operation: o.op }, o.bytes);
    },
    database: {
      query(kind, seconds, failed) {
        queryDuration.observe({ operation: kind, outcome: failed ? 'error' : 'ok' }, seconds);
      },
      acquired(seconds) {
        acquireWait.observe(seconds);
        connectionsInUse.inc();
      },
      released() {
        connectionsInUse.dec();
      },
    },
  };
}

/** Glance's task statuses, all exported (0 when none) so a dashboard sees a series per state. */
const TASK_STATUSES = ['pending', 'processing', 'success', 'failure'] as const;
