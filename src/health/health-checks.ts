/**
 * The checks behind /healthcheck, as oslo.middleware's healthcheck backends: each gives a
 * result (available or not, a short reason, details). `disable_by_file` is the one Glance's
 * stock pipeline runs; Iris adds `database`, `stores` and `messaging`. The checks named in
 * `[healthcheck] backends` decide every answer; the detailed view (admins, `detailed = true`)
 * runs all of them.
 */
import { existsSync } from 'node:fs';

/** oslo.middleware's HealthcheckResult. */
export interface HealthResult {
  readonly available: boolean;
  readonly reason: string;
  readonly details: string;
}

/** The check names `[healthcheck] backends` accepts. */
export const HEALTH_BACKENDS = ['disable_by_file', 'database', 'stores', 'messaging'] as const;
export type HealthBackend = (typeof HEALTH_BACKENDS)[number];

/** One store to probe: its id, its type, and its driver's probe when it has one. */
export interface StoreProbe {
  readonly id: string;
  readonly type: string;
  /** Resolves when the store answers; rejects with the reason. Absent: nothing cheap to ask. */
  readonly probe?: (signal: AbortSignal) => Promise<void>;
}

export interface HealthSources {
  readonly disableByFilePath: string | null;
  /** Checks every answer runs, in order (`[healthcheck] backends`). */
  readonly backends: readonly HealthBackend[];
  /** Resolves when the database answers a trivial query. */
  readonly pingDatabase?: () => Promise<void>;
  readonly stores?: readonly StoreProbe[];
  /** Whether the notifier reaches its broker (notifierStats().connected). */
  readonly brokerConnected?: () => boolean;
  /** A probe slower than this fails (default 5000 ms): a health check never hangs. */
  readonly timeoutMs?: number;
}

export interface HealthChecks {
  /** Results of the configured backends. */
  basic(): Promise<HealthResult[]>;
  /** Results of every check (the detailed view): the configured backends, then the others. */
  all(): Promise<HealthResult[]>;
}

/** oslo.middleware's DisableByFileHealthcheck, same reasons and details. */
export function disableByFile(path: string | null): HealthResult {
  if (path === null) return { available: true, reason: 'OK', details: "No 'disable_by_file_path' configuration value specified" };
  if (!existsSync(path)) return { available: true, reason: 'OK', details: `Path '${path}' was not found` };
  return { available: false, reason: 'DISABLED BY FILE', details: `Path '${path}' was found` };
}

/** `work` bounded by `ms`; the signal tells the probe to give up. */
async function within(ms: number, work: (signal: AbortSignal) => Promise<void>): Promise<void> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const err = new Error(`no answer within ${ms} ms`);
      controller.abort(err);
      reject(err);
    }, ms);
  });
  try {
    await Promise.race([work(controller.signal), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function reasonOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * @example
 *   const checks = createHealthChecks({ disableByFilePath: null, backends: ['disable_by_file'], pingDatabase });
 *   (await checks.all()).every((r) => r.available);
 */
export function createHealthChecks(sources: HealthSources): HealthChecks {
  const timeoutMs = sources.timeoutMs ?? 5000;

  async function database(): Promise<HealthResult[]> {
    const ping = sources.pingDatabase;
    if (ping === undefined) return [];
    const started = performance.now();
    try {
      await within(timeoutMs, () => ping());
      return [{ available: true, reason: 'OK', details: `Database answered in ${Math.round(performance.now() - started)} ms` }];
    } catch (err) {
      return [{ available: false, reason: 'DATABASE UNREACHABLE', details: `Database: ${reasonOf(err)}` }];
    }
  }

  async function stores(): Promise<HealthResult[]> {
    return Promise.all(
      (sources.stores ?? []).map(async ({ id, type, probe }): Promise<HealthResult> => {
        if (probe === undefined) return { available: true, reason: 'OK', details: `Store ${id} (${type}): no probe for this store type` };
        const started = performance.now();
        try {
          await within(timeoutMs, probe);
          return { available: true, reason: 'OK', details: `Store ${id} (${type}) answered in ${Math.round(performance.now() - started)} ms` };
        } catch (err) {
          return { available: false, reason: 'STORE UNREACHABLE', details: `Store ${id} (${type}): ${reasonOf(err)}` };
        }
      }),
    );
  }

  async function messaging(): Promise<HealthResult[]> {
    const connected = sources.brokerConnected;
    if (connected === undefined) return [];
    return connected()
      ? [{ available: true, reason: 'OK', details: 'Notifier connected to its broker (or needs none)' }]
      : [{ available: false, reason: 'BROKER DISCONNECTED', details: 'Notifier not connected to its broker; notifications are queued' }];
  }

  const run: Record<HealthBackend, () => Promise<HealthResult[]>> = {
    disable_by_file: async () => [disableByFile(sources.disableByFilePath)],
    database,
    stores,
    messaging,
  };

  async function results(names: readonly HealthBackend[]): Promise<HealthResult[]> {
    return (await Promise.all(names.map((name) => run[name]()))).flat();
  }

  return {
    basic: () => results(sources.backends),
    all: () => results([...sources.backends, ...HEALTH_BACKENDS.filter((b) => !sources.backends.includes(b))]),
  };
}
