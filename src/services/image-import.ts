/**
 * Interoperable image import (Glance's stage + import), composed from its pieces under
 * services/import/: the stage (import-stage.ts), the request's checks (import-request.ts), the
 * lock (import-lock.ts), the asynchronous task (import-runner.ts, import-task-progress.ts) and
 * start-up recovery (import-recovery.ts). The reserved image properties they share are in
 * import-image-properties.ts; the ports (WebSource, ImportPlugin) in domain/ports.ts.
 *
 * Where Iris does better than Glance 25.1.0: every byte entering a store passes the format
 * inspector in the same pass as hashing; copy-image streams store to store without a staging
 * copy; web-download checks addresses at connect time (src/import/web-fetch.ts); a task whose
 * node stopped (restart, kill -9, another node's lease sweep) is failed and its image put back
 * in a consistent state.
 */
import type { Policy } from '../domain/policy.js';
import type { BlobStore, Clock, IdGenerator, ImageRepository, ImportPlugin, Notifier, RemoteGlance, TaskRepository, TransferLeaseHolder, WebSource } from '../domain/ports.js';
import type { FormatCheckOptions } from '../format/upload-check.js';
import type { ImageService } from './images.js';
import type { QuotaService } from './quotas.js';
import { createImportLock } from './import/import-lock.js';
import { createImportRequests } from './import/import-request.js';
import { createImportRunner } from './import/import-runner.js';
import { createImportStage } from './import/import-stage.js';
import { createImportTaskProgress } from './import/import-task-progress.js';
import { createTaskLeases, type TaskLeaseDeps } from './import/task-lease.js';

export { IMPORT_METHODS, type ImportMethod } from '../domain/import-method.js';
export type { ImportPlugin, ImportPluginContext, ImportPluginResult, WebSource } from '../domain/ports.js';
export type { ImportRequest } from './import/import-runner.js';
export type { ImportDecision } from './import/import-request.js';
export { recoverInterruptedImports, recoverInterruptedStages } from './import/import-recovery.js';
export { createTaskLeases, type TaskLeases } from './import/task-lease.js';

export interface ImageImportDeps {
  readonly images: ImageRepository;
  readonly tasks: TaskRepository;
  /** The image stores. */
  readonly blobs: BlobStore;
  /** The staging area (os_glance_staging_store): one object per image id. */
  readonly staging: BlobStore;
  /** The staging location of an image's data (the staging store keys objects by image id). */
  readonly stagingLocation: (imageId: string) => string;
  readonly policy: Policy;
  readonly clock: Clock;
  readonly ids: IdGenerator;
  readonly notifier: Notifier;
  readonly imageService: Pick<ImageService, 'findVisible' | 'watchTransfer'>;
  readonly multiStore: boolean;
  readonly imageSizeCap: number;
  readonly hashingAlgorithm: string;
  readonly formatChecks: FormatCheckOptions;
  /** Hours a finished task is kept. */
  readonly taskTimeToLiveHours: number;
  readonly web: WebSource;
  /** The remote region's Glance, for glance-download; absent: that method fails its tasks. */
  readonly remoteGlance?: RemoteGlance;
  /** [glance_download_properties] extra_properties. */
  readonly glanceDownloadProperties?: readonly string[];
  /**
   * Glance's import plugins ([image_import_opts] image_import_plugins), in order. They run on
   * the staged data of glance-direct and web-download imports (never copy-image), before any
   * store receives it.
   */
  readonly plugins?: readonly ImportPlugin[];
  /** Path of an image's staged file (the staging store keys files by image id). */
  readonly stagingPath?: (imageId: string) => string;
  /**
   * The leases of the tasks this process runs (task-lease.ts): its owner name, the lease
   * length, and which owners are known to be gone.
   */
  readonly taskLease: {
    readonly owner: string;
    readonly leaseMs: number;
    readonly isDeadOwner: (owner: string) => boolean;
    readonly onTakeOver?: TaskLeaseDeps['onTakeOver'];
  };
  /**
   * This node's URL for the others (worker_self_reference_url, else public_endpoint), or null.
   * Recorded on images staged here; a glance-direct import of one staged elsewhere is proxied.
   */
  readonly selfUrl?: string | null;
  /** Leases on stages in progress (several nodes); absent: one process, nothing to hold. */
  readonly transferLeases?: TransferLeaseHolder;
  /** Keystone limits, the byte quota and image_location_quota; absent = none. */
  readonly quotas?: Pick<QuotaService, 'enforceLimits' | 'holdStorage' | 'checkLocations'>;
  /** Background task failures that are not the task's own (logged). */
  readonly onError: (message: string, error: unknown, extra: Record<string, unknown>) => void;
}

export type ImageImportService = ReturnType<typeof createImageImportService>;

export function createImageImportService(deps: ImageImportDeps) {
  async function dropStaging(imageId: string): Promise<void> {
    // The staging delete is idempotent: any error is real and leaves data behind.
    await deps.staging.delete(deps.stagingLocation(imageId), deps.staging.defaultStore).catch((e: unknown) => {
      deps.onError('could not drop staged data; left in the staging area', e, { image: imageId });
    });
  }
  const progress = createImportTaskProgress(deps);
  const leases = createTaskLeases({ ...deps, ...deps.taskLease, dropStaging });
  const lock = createImportLock({ ...deps, leases });
  const runner = createImportRunner({ ...deps, lock, progress, dropStaging });
  const requests = createImportRequests({ ...deps, lock, runner, leases });
  const { stage } = createImportStage({ ...deps, dropStaging });

  return {
    stage,
    importImage: requests.importImage,
    dropStaging,
    /** Take-over of abandoned tasks: `startSweeping` at serve time (every node). */
    leases,
    /**
     * The image was deleted: stop its import if this process runs one (the task fails and its
     * partial data is removed) and drop its staged data.
     */
    async imageDeleted(imageId: string): Promise<void> {
      runner.abortFor(imageId);
      await dropStaging(imageId);
    },
    /** Aborts running imports (shutdown); their tasks are failed on the next start. */
    abortAll(): void {
      runner.abortAll();
    },
    /** How many imports this process is running. */
    get runningCount(): number {
      return runner.runningCount;
    },
  };
}
