/**
 * Composition root: load config, open the database (migrating it), recover from a crash,
 * build adapters and services, start HTTP. With `workers` > 1 the primary does the
 * migrations and recovery once, then forks that many workers sharing the port.
 */
import cluster from 'node:cluster';
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { parseApiArgs } from './api-args.js';
import { checkDataPaths, dataPaths } from './data-paths.js';
import { createLogging, logFilePath, type Logging } from './logging.js';
import { createBlobStore, type BlobTrace } from './blob/blob-store.js';
import { sharedTransferPool } from './blob/fd-transfer.js';
import { configuredStores, StoreConfigError } from './blob/configured-stores.js';
import { createFilesystemDriver } from './blob/drivers/filesystem-driver.js';
import type { Authenticator } from './auth/authenticator.js';
import { createAuthenticator } from './auth/create-authenticator.js';
import type { Config } from './config/config.js';
import { loadConfig } from './config/load-config.js';
import { createBodyAborts } from './http/body-abort.js';
import { authenticatedContext } from './http/http-context.js';
import { handlersIdle } from './http/handler-tracker.js';
import { buildServer } from './http/server.js';
import { databaseMaxConnections, describeDatabase, openConfiguredDatabase as openDatabaseOf } from './persistence/configured-database.js';
import type { Database } from './persistence/database.js';
import { ForeignDatabaseError } from './persistence/foreign-database.js';
import { createImageRepository } from './persistence/image-repository.js';
import { createMemberRepository } from './persistence/member-repository.js';
import { createMetadefRepository } from './persistence/metadef-repository.js';
import { migrateToLatest, SchemaTooNewError } from './persistence/migrator.js';
import type { Policy } from './domain/policy.js';
import { createPolicyFromConfig, type PolicySetup } from './policy/policy-from-config.js';
import { createReloadingPolicy } from './policy/reloading-policy.js';
import { credentialsOf } from './policy/rule-policy.js';
import type { RequestContext } from './domain/context.js';
import { createImageDataService } from './services/image-data.js';
import { createImageService } from './services/images.js';
import { createLocationImportService } from './services/location-import.js';
import { createMemberService } from './services/members.js';
import { createMetadefService } from './services/metadefs.js';
import { createMetadefPolicy } from './policy/metadef-policy.js';
import { createImageImportService, createTaskLeases, recoverInterruptedStages } from './services/image-import.js';
import { createTransferLeases } from './services/transfer-leases.js';
import { currentWriter, formatWriter, isDeadLocalWriter, parseWriter } from './blob/writer-identity.js';
import { createTaskRepository } from './persistence/task-repository.js';
import { createTaskService } from './services/tasks.js';
import { createQuotaService } from './services/quotas.js';
import { createQuotaRepository } from './persistence/quota-repository.js';
import { createKeystoneLimitSource } from './auth/keystone-limits.js';
import { validateImportUri, type ImportFilterOptions } from './import/uri-filter.js';
import { createWebSource } from './import/web-source.js';
import { createRemoteGlance } from './import/glance-download.js';
import { createImportPlugins } from './import/plugins/index.js';
import type { BlobStore, ImageRepository } from './domain/ports.js';
import type { CleanupReporter } from './blob/cleanup-report.js';
import { cacheDriverStatement, configuredImageCache } from './cache/configured-cache.js';
import { createPrefetcher } from './cache/prefetcher.js';
import { createImageCacheService } from './services/image-cache.js';
import { imageTarget } from './policy/rule-policy.js';
import { AggregatorRegistry } from 'prom-client';
import { createIrisMetrics, type IrisMetrics, type NotifierStats } from './metrics/iris-metrics.js';
import { adminPort, startAdminServer, type AdminServer, type MetricsSource } from './http/admin-server.js';
import { createHealthChecks, type StoreProbe } from './health/health-checks.js';
import { countTaskStates, pingDatabase } from './persistence/task-state-counts.js';
import type { DatabaseObserver } from './persistence/observed-dialect.js';
import { createNotifier, notificationSettings } from './notify/notifier.js';

const LOOPBACK = /^(127\.|::1$|localhost$)/;

function logStartup(config: Config, logger: Logger, authenticator: Authenticator): void {
  for (const src of config.sources) logger.info({ file: src }, 'config file read');
  for (const opt of config.unknown_options) logger.warn({ option: opt }, 'unknown config option ignored');
  for (const msg of config.deprecations) logger.warn(msg);
  const flavor = config.paste_deploy.flavor;
  logger.info({ flavor }, `authentication: ${flavor} (${authenticator.description})`);
  if (config.DEFAULT.delayed_delete) {
    logger.info({ scrub_time: config.DEFAULT.scrub_time }, 'delayed delete on: deleted images wait in pending_delete until iris-scrubber deletes their data');
  }
  if ((flavor === 'hybrid' || flavor === 'noauth') && !LOOPBACK.test(config.DEFAULT.bind_host)) {
    logger.warn({ bind_host: config.DEFAULT.bind_host }, `flavor ${flavor} trusts every caller: bound beyond loopback, anyone who can reach this port is admin`);
  }
}

/** The blob store's trace lines, at debug level (image id, store, bytes, ms), and its metrics. */
function blobTrace(logger: Logger, metrics?: IrisMetrics): (fields: BlobTrace, message: string) => void {
  return (fields, message) => {
    logger.debug(fields, message);
    metrics?.observeStore(fields);
  };
}

/**
 * The image stores of the configuration (one per enabled backend, or the single store), and
 * each store's health probe; the store operations also feed the metrics when they are on.
 */
function imageStores(config: Config, logger: Logger, metrics?: IrisMetrics): { readonly blobs: BlobStore; readonly probes: StoreProbe[] } {
  try {
    const { blobs, stores } = configuredStores(config, logger, metrics ? { observe: (fields) => metrics.observeStore(fields) } : {});
    return { blobs, probes: stores };
  } catch (e) {
    // A driver refusing its options is a configuration error: one line naming the store.
    if (e instanceof StoreConfigError) throw new StartError(e.message, { cause: e });
    throw e;
  }
}

/**
 * The staging area for glance-direct and web-download (os_glance_staging_store), keyed by image
 * id; its driver says where an image's staged object lives.
 */
function stagingStore(
  config: Config,
  onCleanupError: CleanupReporter,
  trace?: (fields: BlobTrace, message: string) => void,
): { readonly store: BlobStore; readonly locationOf: (imageId: string) => string; readonly fileOf: (imageId: string) => string } {
  const driver = createFilesystemDriver({ dir: config.staging_dir, onCleanupError });
  const store = createBlobStore({
    backends: [{ id: 'os_glance_staging_store', driver }],
    onCleanupError,
    partialWriteMaxAgeMs: config.partial_write_max_age * 1000,
    transfers: config.direct_transfers ? sharedTransferPool() : null,
    ...(trace ? { trace } : {}),
  });
  return { store, locationOf: driver.locationOf, fileOf: driver.fileOf };
}

/** Clean-up failures of the blob layer go to the log with the image id (never swallowed). */
function cleanupReporter(logger: Logger): CleanupReporter {
  return (message, err, extra) => logger.error({ err, ...extra }, message);
}

/** A start-up failure the operator fixes in the configuration: one line on stderr, exit 2. */
class StartError extends Error {}

/**
 * Opens the database (never adopting Glance's, waiting for a server still starting), naming
 * the option and the database when it cannot be opened.
 */
async function openConfiguredDatabase(config: Config, logger: Logger, observer?: DatabaseObserver): Promise<Database> {
  const what = describeDatabase(config.database);
  try {
    return await openDatabaseOf(config.database, {
      onRetry: (err, attempt) => logger.warn({ err, attempt, database: what }, 'database not reachable yet; retrying'),
      ...(observer ? { observer } : {}),
    });
  } catch (e) {
    if (e instanceof ForeignDatabaseError) throw new StartError(`[database] connection: ${e.message}`, { cause: e });
    throw new StartError(`[database] connection: ${what}: ${(e as Error).message}`, { cause: e });
  }
}

/**
 * This process as the owner of the task leases it takes, the lease length, and which owners
 * are gone: processes of this host that no longer run (another host's are judged by lease).
 */
/** This node's URL for the other nodes, as Glance's self_url; null: none. */
function nodeUrl(config: Config): string | null {
  return config.DEFAULT.worker_self_reference_url ?? config.DEFAULT.public_endpoint;
}

function taskLeaseOptions(config: Config) {
  return {
    owner: formatWriter(currentWriter()),
    leaseMs: config.task_lease_seconds * 1000,
    isDeadOwner: (owner: string) => {
      const writer = parseWriter(owner);
      return writer !== undefined && isDeadLocalWriter(writer);
    },
  };
}

/**
 * Abandoned transfers (transfer-leases.ts) back to a consistent state: uploads to `queued`,
 * stages cut off to `queued` with their partial data dropped. At start and by the sweep.
 */
async function recoverTransfers(
  config: Config,
  logger: Logger,
  images: ImageRepository,
  staging: BlobStore,
  stagingLocation: (imageId: string) => string,
): Promise<void> {
  const onError = (message: string, err: unknown, extra: Record<string, unknown>) => logger.error({ err, ...extra }, message);
  const clock = { now: () => new Date() };
  const abandoned = await createTransferLeases({ ...taskLeaseOptions(config), images, clock, onError }).abandoned();
  const reset = await images.resetSaving(abandoned);
  if (reset.length > 0) logger.warn({ images: reset }, 'images left in saving by a crash returned to queued');
  const selfUrl = nodeUrl(config);
  const unstaged = await recoverInterruptedStages({ images, staging, selfUrl, stagingLocation, clock, onError, abandoned });
  if (unstaged.length > 0) logger.warn({ images: unstaged }, 'images left uploading by an interrupted stage returned to queued');
}

/** Keystone unified limits when use_keystone_limits is on ([oslo_limit]), else none. */
function keystoneLimits(config: Config, prepareOnly = false) {
  if (!config.DEFAULT.use_keystone_limits) return undefined;
  const o = config.oslo_limit;
  if (o.auth_url === null || o.endpoint_id === '') {
    throw new StartError('use_keystone_limits needs [oslo_limit] auth_url and endpoint_id');
  }
  if (prepareOnly) return undefined;
  return createKeystoneLimitSource({
    authUrl: o.auth_url,
    endpointId: o.endpoint_id,
    username: o.username,
    userId: o.user_id,
    password: o.password,
    userDomainId: o.user_domain_id,
    userDomainName: o.user_domain_name,
    projectId: o.project_id,
    projectName: o.project_name,
    projectDomainId: o.project_domain_id,
    projectDomainName: o.project_domain_name,
    systemScope: o.system_scope,
    timeoutMs: o.timeout * 1000,
    cacheMs: config.keystone_limits_cache_time * 1000,
  });
}

/** Migrations and crash recovery: run once, before any worker serves. */
async function prepare(config: Config, logger: Logger): Promise<void> {
  keystoneLimits(config, true); // an incomplete [oslo_limit] stops the start, before any worker
  const database = await openConfiguredDatabase(config, logger);
  try {
    let revision: string | null;
    try {
      revision = await migrateToLatest(database.db, database.engine);
    } catch (e) {
      if (e instanceof SchemaTooNewError) throw new StartError(`[database] connection: ${describeDatabase(config.database)}: ${e.message}`, { cause: e });
      throw e;
    }
    logger.info({ revision, database: describeDatabase(config.database) }, 'database ready');
    const images = createImageRepository(database.db, { engine: database.engine });
    const { blobs } = imageStores(config, logger);
    const { store: staging, locationOf: stagingLocation } = stagingStore(config, cleanupReporter(logger));
    // Imports this host's earlier processes were running will never finish, nor those whose
    // node stopped renewing their lease: fail their tasks, then put their images back in a
    // consistent state and drop their staged data. A live node's tasks are left alone.
    const tasks = createTaskRepository(database.db, { engine: database.engine });
    const now = new Date();
    const interrupted = await createTaskLeases({
      ...taskLeaseOptions(config),
      tasks,
      images,
      blobs,
      clock: { now: () => new Date() },
      taskTimeToLiveHours: config.task.task_time_to_live,
      dropStaging: (id) => staging.delete(stagingLocation(id)),
      onError: (message, err, extra) => logger.error({ err, ...extra }, message),
    }).recoverAtStart();
    if (interrupted.length > 0) {
      logger.warn({ tasks: interrupted.map((t) => t.id), images: interrupted.map((t) => t.image_id) }, 'imports interrupted by a restart or an ended lease failed; images returned to a consistent state');
    }
    // Uploads and stages this host's earlier processes were receiving, or whose node stopped
    // renewing their lease; another live node's transfers are left alone.
    await recoverTransfers(config, logger, images, staging, stagingLocation);
    // Byte reservations of this host's dead processes stop counting now (others' expire).
    const released = await createQuotaRepository(database.db, { engine: database.engine }).releaseDeadHolders(taskLeaseOptions(config).isDeadOwner);
    if (released > 0) logger.warn({ reservations: released }, 'quota reservations of interrupted uploads released');
    const purged = await tasks.purgeExpired(now);
    if (purged > 0) logger.info({ tasks: purged }, 'expired tasks removed');
    const swept = (await blobs.sweep()) + (await staging.sweep());
    if (swept > 0) logger.warn({ files: swept }, 'stray partial uploads removed');
    // The workers open their own connections; this process must not keep a store's threads.
    await Promise.all([blobs.close(), staging.close()]);
  } finally {
    await database.close();
  }
}

/** The flavor's authenticator; an incomplete auth setup stops the process like any config error. */
function startAuthenticator(config: Config, logger: Logger): Authenticator {
  try {
    return createAuthenticator(config, logger);
  } catch (e) {
    process.stderr.write(`iris: ${(e as Error).message}\n`);
    process.exit(2);
  }
}

/** The policy of [oslo_policy]; a missing or bad policy file stops the process at start. */
function startPolicy(config: Config, logger: Logger): PolicySetup {
  try {
    const setup = createPolicyFromConfig(config);
    const { file, rules, propertyProtections } = setup;
    const mode = config.oslo_policy.enforce_new_defaults ? 'new defaults' : 'legacy defaults';
    logger.info({ policy_file: file }, `policy: ${mode}${file === null ? '' : ` overridden by ${file}`}`);
    if (rules.undefinedReferences.length > 0) {
      logger.warn({ rules: rules.undefinedReferences }, 'policy rules refer to rules that are not defined (those checks refuse)');
    }
    if (propertyProtections !== null) {
      logger.info({ sections: propertyProtections.rules.length, format: propertyProtections.format }, 'property protections on');
      if (propertyProtections.undefinedPolicies.length > 0) {
        logger.warn({ rules: propertyProtections.undefinedPolicies }, 'property protections name policy rules that are not defined (refused)');
      }
    }
    return setup;
  } catch (e) {
    process.stderr.write(`iris: ${(e as Error).message}
`);
    process.exit(2);
  }
}

/**
 * Starts the admin listener (/metrics) when `[iris] admin_bind_host` is set. A port that cannot
 * be bound is logged and leaves the API serving: metrics are not worth an outage.
 */
async function startAdminListener(config: Config, logger: Logger, metrics: MetricsSource): Promise<AdminServer | null> {
  const host = config.admin_bind_host;
  if (host === '') return null;
  const port = adminPort(config.admin_bind_port, config.DEFAULT.bind_port);
  try {
    const admin = await startAdminServer({ host, port, metrics, onError: (err) => logger.error({ err }, 'metrics scrape failed') });
    const shown = admin.address.family === 'IPv6' ? `[${admin.address.address}]` : admin.address.address;
    logger.info({ url: `http://${shown}:${admin.address.port}/metrics` }, `metrics listening on ${shown}:${admin.address.port}`);
    if (!LOOPBACK.test(admin.address.address)) logger.warn({ admin_bind_host: host }, 'the admin listener (/metrics) is bound beyond loopback');
    return admin;
  } catch (err) {
    logger.error({ err, admin_bind_host: host, admin_bind_port: port }, 'admin listener (/metrics) could not start; serving the API without it');
    return null;
  }
}

async function serve(config: Config, logging: Logging, authenticator: Authenticator): Promise<void> {
  const logger = logging.logger;
  // Glance's notifications (src/notify/): nothing sent unless [oslo_messaging_notifications] driver is set.
  // stats() is read by the metrics (sent, dropped, queued, connected) and the health check.
  const notifications = notificationSettings(config);
  const notifier = createNotifier(notifications, { logger });
  // Without a messaging driver there is no broker to be away from: reported connected, so an
  // alert on `iris_notifications_connected == 0` (or the health check) means a broker is missed.
  const usesBroker = notifications.drivers.some((d) => d === 'messaging' || d === 'messagingv2');
  const notifierStats = (): NotifierStats => (usesBroker ? notifier.stats() : { ...notifier.stats(), connected: true });
  let database: Database | undefined;
  // No admin listener: no one reads metrics, so none are recorded (no per-request cost).
  const metrics = config.admin_bind_host === '' ? undefined : createIrisMetrics({
    taskStates: () => (database ? countTaskStates(database.db) : Promise.resolve({})),
    notifierStats,
    ...(config.direct_transfers ? { transferStats: () => sharedTransferPool().stats() } : {}),
    databaseMaxConnections: databaseMaxConnections(config.database),
    onCollectError: (what, err) => logger.error({ err }, `metrics: ${what} could not be collected`),
  });
  // A worker's figures go to the main process, which serves them for all workers.
  // (Constructing one is what makes a worker answer the main process's requests.)
  if (cluster.isWorker && metrics) {
    new AggregatorRegistry();
    AggregatorRegistry.setRegistries([metrics.registry]);
  }
  database = await openConfiguredDatabase(config, logger, metrics?.database);
  const images = createImageRepository(database.db, { engine: database.engine });
  const { blobs, probes } = imageStores(config, logger, metrics);
  const { store: staging, locationOf: stagingLocation, fileOf: stagingPath } = stagingStore(config, cleanupReporter(logger), blobTrace(logger, metrics));
  const openDb = database;
  const health = createHealthChecks({
    disableByFilePath: config.healthcheck.disable_by_file_path,
    backends: config.healthcheck.backends,
    pingDatabase: () => pingDatabase(openDb.db),
    stores: probes,
    brokerConnected: () => notifierStats().connected,
  });
  const tasks = createTaskRepository(database.db, { engine: database.engine });
  // Edits to the policy files apply within a second, on every node (oslo.policy rereads too).
  const reloading = createReloadingPolicy(startPolicy(config, logger), () => createPolicyFromConfig(config), {
    onReload: (setup) => logger.info({ files: setup.files }, 'policy files changed: rules reloaded'),
    onError: (err, files) => logger.error({ err, files }, 'policy files changed but cannot be used; the rules read before stay in force'),
  });
  const { policy } = reloading;
  // Rules checked at the edge without an image (tasks API, store details), by name.
  const ruleAllows = (ctx: RequestContext, rule: string) => reloading.rules.check(rule, {}, credentialsOf(ctx));
  const clock = { now: () => new Date() };
  // The node's image cache (image_cache_dir): its records in the shared database.
  const cache = configuredImageCache(config, database.db, {
    onError: (message, err, extra) => logger.error({ err, ...extra }, message),
    onEvent: (message, extra) => logger.info(extra, message),
  });
  if (cache !== null) {
    await cache.prepare();
    logger.info({ dir: cache.directory, node: cache.node }, cacheDriverStatement(config));
    // What a crash left (incomplete files of dead processes, invalid entries) goes now, not at the first prefetcher run.
    void cache.clean().catch((err: unknown) => logger.error({ err }, 'image cache clean-up at start failed'));
  }
  const quotas = createQuotaService({
    quotas: createQuotaRepository(database.db, { engine: database.engine }),
    limits: keystoneLimits(config),
    clock,
    userStorageQuota: config.DEFAULT.user_storage_quota,
    imagePropertyQuota: config.DEFAULT.image_property_quota,
    imageTagQuota: config.DEFAULT.image_tag_quota,
    imageLocationQuota: config.DEFAULT.image_location_quota,
    holder: taskLeaseOptions(config).owner,
    reservationMs: config.quota_reservation_time * 1000,
    onError: (message, err, extra) => logger.error({ err, ...extra }, message),
  });
  const imageService = createImageService({
    quotas,
    images,
    blobs,
    policy,
    clock,
    ids: { uuid: randomUUID },
    notifier,
    formats: {
      diskFormats: config.image_format.disk_formats,
      containerFormats: config.image_format.container_formats,
    },
    limits: { limitParamDefault: config.DEFAULT.limit_param_default, apiLimitMax: config.DEFAULT.api_limit_max },
    multiStore: config.multi_store,
    ...(config.DEFAULT.show_multiple_locations
      ? {
          locationPatches: {
            hashingAlgorithm: config.DEFAULT.hashing_algorithm,
            uriAllowed: (uri: string) => validateImportUri(uri, importFilterOf(config)),
          },
        }
      : {}),
    onLocationProbeError: (image, err) => logger.warn({ image, err }, 'could not check an image location; refused as invalid'),
    delayedDelete: config.DEFAULT.delayed_delete,
    selfUrl: nodeUrl(config),
    // Bound late: the import service is built below, on top of this one.
    dropStaging: (id) => imports.imageDeleted(id),
    onOrphan: (location, err) => logger.error({ location, err }, 'could not delete image data; orphan left'),
    dataInvalidated: async (id) => {
      await cache?.invalidate(id).catch((err: unknown) => logger.error({ err, image: id }, 'could not drop the image cache entry'));
    },
  });
  const transferLeases = createTransferLeases({
    ...taskLeaseOptions(config),
    images,
    clock,
    onError: (message, err, extra) => logger.error({ err, ...extra }, message),
  });
  const imageData = createImageDataService({
    transferLeases,
    multiStore: config.multi_store,
    defaultStore: config.default_backend_id,
    images,
    blobs,
    policy,
    clock,
    notifier,
    imageService,
    imageSizeCap: config.DEFAULT.image_size_cap,
    quotas,
    hashingAlgorithm: config.DEFAULT.hashing_algorithm,
    formatChecks: {
      requireImageFormatMatch: config.image_format.require_image_format_match,
      gptSafetyChecksNonfatal: config.image_format.gpt_safety_checks_nonfatal,
    },
    ...(cache !== null ? { cache } : {}),
    onError: (message, err, extra) => logger.error({ err, ...extra }, message),
  });
  const prefetcher =
    cache === null
      ? null
      : createPrefetcher({
          cache,
          getImage: (id) => images.get(id),
          readImage: (image, signal) => imageData.readStored(image, signal),
          intervalMs: config.DEFAULT.cache_prefetcher_interval * 1000,
          onError: (message, err, extra) => logger.error({ err, ...extra }, message),
          onEvent: (message, extra) => logger.info(extra, message),
        });
  const cacheService = createImageCacheService({
    cache,
    imageService,
    allows: (ctx, rule, image) =>
      reloading.rules.check(rule, image === null ? {} : imageTarget(ctx, image), credentialsOf(ctx)),
  });
  const formatChecks = {
    requireImageFormatMatch: config.image_format.require_image_format_match,
    gptSafetyChecksNonfatal: config.image_format.gpt_safety_checks_nonfatal,
  };
  const filtering = config.import_filtering_opts;
  const importFilter = importFilterOf(config);
  // web-download's fetcher, also glance-download's way to the remote region's Glance.
  const web = createWebSource({
    filter: importFilter,
    allowPrivateNetworks: filtering.allow_private_networks,
    allowLoopback: filtering.allow_loopback,
  });
  const imports = createImageImportService({
    transferLeases,
    quotas,
    images,
    tasks,
    blobs,
    staging,
    stagingLocation,
    stagingPath,
    policy,
    clock,
    ids: { uuid: randomUUID },
    notifier,
    imageService,
    multiStore: config.multi_store,
    imageSizeCap: config.DEFAULT.image_size_cap,
    hashingAlgorithm: config.DEFAULT.hashing_algorithm,
    formatChecks,
    taskTimeToLiveHours: config.task.task_time_to_live,
    selfUrl: nodeUrl(config),
    taskLease: {
      ...taskLeaseOptions(config),
      onTakeOver: (reason, failed, recovered) =>
        logger.warn({ tasks: failed.map((t) => t.id), images: recovered, reason }, 'import tasks of a stopped node failed; images returned to a consistent state'),
    },
    plugins: createImportPlugins(config, { logger }),
    web,
    remoteGlance: createRemoteGlance(web),
    glanceDownloadProperties: config.glance_download_properties.extra_properties,
    onError: (message, err, extra) => logger.error({ err, ...extra }, message),
  });
  const members = createMemberService({
    members: createMemberRepository(database.db, { engine: database.engine }),
    policy,
    clock,
    notifier,
    imageService,
    quota: config.DEFAULT.image_member_quota,
  });
  const taskService = createTaskService({
    tasks,
    policy: { tasksApiAccess: (ctx) => ruleAllows(ctx, 'tasks_api_access') },
    clock,
    notifier,
    limits: { limitParamDefault: config.DEFAULT.limit_param_default, apiLimitMax: config.DEFAULT.api_limit_max },
    images: imageService,
    ids: { uuid: randomUUID },
    taskTimeToLiveHours: config.task.task_time_to_live,
    importUriAllowed: (uri) => validateImportUri(uri, importFilter),
  });
  const metadefs = createMetadefService({
    repo: createMetadefRepository(database.db, { engine: database.engine }),
    policy: createMetadefPolicy({ rules: reloading.rules, enforceScope: config.oslo_policy.enforce_scope }),
    clock,
    notifier,
    limits: { limitParamDefault: config.DEFAULT.limit_param_default, apiLimitMax: config.DEFAULT.api_limit_max },
  });
  const locationImports = createLocationImportService({
    images,
    blobs,
    policy,
    clock,
    notifier,
    imageService,
    hashingAlgorithm: config.DEFAULT.hashing_algorithm,
    doSecureHash: config.DEFAULT.do_secure_hash,
    httpRetries: config.DEFAULT.http_retries,
    httpStoreConfigured: config.backends.some((b) => b.type === 'http'),
    quotas,
    probe: {
      multiStore: config.multi_store,
      uriAllowed: (uri: string) => validateImportUri(uri, importFilterOf(config)),
      onError: (image, err) => logger.warn({ image, err }, 'could not check an image location; refused as invalid'),
    },
    onError: (message, err, extra) => logger.error({ err, ...extra }, message),
  });
  const app = buildServer(
    {
      config,
      images: imageService,
      imageData,
      members,
      metadefs,
      imports,
      locations: locationImports,
      quotas,
      tasks: taskService,
      cache: cacheService,
      ruleAllows,
      authenticate: (request) => authenticator.authenticate({ headers: request.headers, requestId: request.id }),
      contextOf: authenticatedContext,
      bodies: createBodyAborts(),
      metrics,
      health,
    },
    logger,
  );
  await app.listen({ host: config.DEFAULT.bind_host, port: config.DEFAULT.bind_port });
  // The address bound, not fastify's pick among the interfaces (which names 127.0.0.1 for 0.0.0.0).
  const bound = app.server.address();
  if (bound !== null && typeof bound === 'object') {
    const host = bound.family === 'IPv6' ? `[${bound.address}]` : bound.address;
    logger.info({ address: bound.address, port: bound.port, url: `http://${host}:${bound.port}`, pid: process.pid }, `Iris listening on ${host}:${bound.port}`);
  }

  const admin = cluster.isWorker || !metrics ? null : await startAdminListener(config, logger, metrics);

  // Every node fails the tasks of nodes that stopped renewing their leases, and returns the
  // uploads and stages of such nodes to queued.
  const stopSweeping = imports.leases.startSweeping();
  const stopTransferSweep = everyInterval(imports.leases.sweepMs, () => recoverTransfers(config, logger, images, staging, stagingLocation), (err) =>
    logger.error({ err }, 'could not recover abandoned uploads and stages'),
  );
  const stopPrefetcher = prefetcher?.start();

  // Graceful stop: no new connections; imports aborted at once (they could run for hours; their
  // tasks fail and their images return to queued, as after a restart); requests in progress get
  // shutdown_timeout seconds, then their connections are closed; the database closes only when
  // no handler runs any more (an aborted upload still puts its image back to queued).
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return; // SIGTERM to the whole group, then again from the primary
    stopping = true;
    const budgetMs = config.shutdown_timeout * 1000;
    logger.info({ signal, in_flight_imports: imports.runningCount, shutdown_timeout: config.shutdown_timeout }, 'shutting down');
    imports.abortAll();
    stopSweeping();
    stopTransferSweep();
    stopPrefetcher?.();
    const closed = app.close();
    if ((await settleWithin(closed, budgetMs)) === 'timeout') {
      logger.warn({ shutdown_timeout: config.shutdown_timeout }, 'requests still in progress after shutdown_timeout; closing their connections');
      app.server.closeAllConnections();
    }
    // Closing the sockets makes the remaining handlers fail fast; their clean-up is short.
    await settleWithin(Promise.all([closed, handlersIdle(app), importsIdle(imports), locationImports.idle()]), AFTER_CLOSE_MS);
    await authenticator.close();
    await admin?.close();
    await Promise.all([blobs.close(), staging.close(), notifier.close(NOTIFIER_FLUSH_MS)]);
    await openDb.close();
    logger.info({ signal }, 'stopped');
    await logging.close();
    process.exit(0);
  };
  process.off('SIGTERM', stopBeforeServing).off('SIGINT', stopBeforeServing);
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

/** Until a process serves (or supervises workers), a stop signal just ends it: nothing is in flight. */
function stopBeforeServing(): void {
  process.exit(0);
}

/** How long handlers get to clean up once their connections are closed. */
const AFTER_CLOSE_MS = 2000;
/** Shutdown: how long queued notifications get to reach the broker before the rest are dropped. */
const NOTIFIER_FLUSH_MS = 2000;

/** 'done' when `promise` settles within `ms`, else 'timeout' (the timer does not hold the process). */
/** Runs `job` every `ms` (never two at once) until the returned function is called. */
function everyInterval(ms: number, job: () => Promise<unknown>, onError: (err: unknown) => void): () => void {
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    job()
      .catch(onError)
      .finally(() => {
        running = false;
      });
  }, ms);
  timer.unref();
  return () => clearInterval(timer);
}

async function settleWithin(promise: Promise<unknown>, ms: number): Promise<'done' | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), ms);
  });
  try {
    return await Promise.race([promise.then(() => 'done' as const, () => 'done' as const), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Resolves once the import service runs no import (polled: aborts settle within milliseconds). */
async function importsIdle(imports: { readonly runningCount: number }): Promise<void> {
  while (imports.runningCount > 0) await new Promise((resolve) => setTimeout(resolve, 20));
}

async function main(): Promise<void> {
  const args = parseApiArgs(process.argv.slice(2));
  if (args.kind === 'exit') {
    process.stdout.write(args.stdout);
    process.stderr.write(args.stderr);
    process.exit(args.code);
  }
  let config: Config;
  try {
    config = loadConfig({ argv: args.configArgs, env: process.env, cwd: process.cwd() });
  } catch (e) {
    process.stderr.write(`iris: ${(e as Error).message}\n`);
    process.exit(2);
  }
  let logging: Logging;
  try {
    logging = createLogging(config);
  } catch (e) {
    const path = logFilePath(config, process.cwd(), 'iris-api');
    process.stderr.write(`iris: [DEFAULT] log_file/log_dir: cannot open ${path}: ${(e as Error).message}\n`);
    process.exit(2);
  }
  const logger = logging.logger;
  // logrotate moves the file and sends SIGHUP (systemctl reload): continue in a new file of the same name.
  process.on('SIGHUP', () => {
    logging.reopen();
    logger.info({ file: logging.file }, 'SIGHUP: log file reopened');
    if (cluster.isPrimary) for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGHUP');
  });
  const workers = config.DEFAULT.workers;
  process.on('SIGTERM', stopBeforeServing).on('SIGINT', stopBeforeServing);

  if (cluster.isPrimary) {
    const authenticator = startAuthenticator(config, logger);
    logStartup(config, logger, authenticator);
    if (workers > 1) startPolicy(config, logger); // a bad policy file stops the primary, not each worker
    const pathProblems = checkDataPaths(dataPaths(config));
    if (pathProblems.length > 0) {
      for (const line of pathProblems) process.stderr.write(`iris: ${line}\n`);
      await logging.close();
      process.exit(2);
    }
    await prepare(config, logger);
    if (workers <= 1) return serve(config, logging, authenticator);
    await authenticator.close(); // each worker makes its own
    const aggregator = new AggregatorRegistry();
    const admin = await startAdminListener(config, logger, { contentType: aggregator.contentType, render: () => aggregator.clusterMetrics() });
    for (let i = 0; i < workers; i++) cluster.fork();
    let stopping = false;
    cluster.on('exit', (worker, code, signal) => {
      if (stopping) {
        logger.info({ worker: worker.process.pid, code, signal }, 'worker stopped');
        if (Object.keys(cluster.workers ?? {}).length === 0) void (admin?.close() ?? Promise.resolve()).then(() => logging.close()).then(() => process.exit(0));
        return;
      }
      logger.error({ worker: worker.process.pid, code, signal }, 'worker exited; starting a new one');
      cluster.fork();
    });
    // Each worker stops gracefully on its own SIGTERM; the primary waits for them all, and
    // kills what is left once their shutdown_timeout (plus clean-up time) has passed.
    const stop = (signal: NodeJS.Signals) => {
      if (stopping) return;
      stopping = true;
      logger.info({ signal, workers: Object.keys(cluster.workers ?? {}).length }, 'shutting down workers');
      for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGTERM');
      setTimeout(() => {
        for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGKILL');
      }, config.shutdown_timeout * 1000 + AFTER_CLOSE_MS + 1000).unref();
    };
    process.off('SIGTERM', stopBeforeServing).off('SIGINT', stopBeforeServing);
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
    return;
  }
  await serve(config, logging, startAuthenticator(config, logger));
}

main().catch((e) => {
  if (e instanceof StartError) {
    process.stderr.write(`iris: ${e.message}\n`);
    process.exit(2);
  }
  process.stderr.write(`iris: fatal: ${(e as Error).stack ?? e}\n`);
  process.exit(1);
});

/** [import_filtering_opts]'s URI filter (web-download, and http image locations). */
function importFilterOf(config: Config): ImportFilterOptions {
  const filtering = config.import_filtering_opts;
  return {
    allowedSchemes: filtering.allowed_schemes,
    disallowedSchemes: filtering.disallowed_schemes,
    allowedHosts: filtering.allowed_hosts,
    disallowedHosts: filtering.disallowed_hosts,
    allowedPorts: filtering.allowed_ports,
    disallowedPorts: filtering.disallowed_ports,
  };
}
