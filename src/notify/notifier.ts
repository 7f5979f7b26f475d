/**
 * The Notifier port as Glance's notifier behaves: `[oslo_messaging_notifications] driver`
 * picks the drivers (`messagingv2`, `messaging`, `log`, `noop`; several at once as in oslo;
 * none = nothing sent), `[DEFAULT] disabled_notifications` filters event types before any
 * driver sees them. The two messaging drivers share one AMQP transport and publish to every
 * topic with routing key `<topic>.<priority>` on the control exchange.
 *
 * @example
 *   const notifier = createNotifier(notificationSettings(config), { logger });
 *   notifier.emit('image.create', imagePayload(image));
 *   notifier.stats(); // { sent, dropped, queued, connected }
 */
import type { NotificationContext, Notifier, NotifyOptions } from '../domain/ports.js';
import type { TransportLogger, TransportStats } from './amqp-transport.js';
import { notificationFilter } from './disabled-notifications.js';
import { logDriver, noopDriver, type LogDriverLogger, type NotificationDriver } from './local-drivers.js';
import { buildMessage, type NotificationPayload, type OsloMessage } from './oslo-message.js';
import { createThreadedTransport, type ThreadedTransport } from './threaded-transport.js';
import { parseTransportUrl } from './transport-url.js';
import type { Config } from '../config/config.js';

import type { NotificationDriverName } from './notification-drivers.js';

export interface NotificationSettings {
  readonly drivers: readonly NotificationDriverName[];
  /** The notification transport URL (its own, else [DEFAULT] transport_url). */
  readonly transportUrl: string;
  readonly topics: readonly string[];
  readonly retry: number;
  readonly disabled: readonly string[];
  readonly publisherId: string;
  readonly exchange: string;
  readonly queueSize: number;
  /**
   * Iris only: add the request's ids to each message as oslo's `_context_*` keys
   * (request_id, global_request_id, user_id, project_id). Glance sends an empty context.
   */
  readonly requestContext: boolean;
}

export interface IrisNotifier extends Notifier {
  /** Counters of the AMQP transport (all zero, not connected, without a messaging driver). */
  stats(): TransportStats;
  /** Flushes (bounded) and closes the transport. */
  close(timeoutMs?: number): Promise<void>;
}

export function createNotifier(
  settings: NotificationSettings,
  deps: { logger: TransportLogger & LogDriverLogger; now?: () => Date; transportTimings?: { initialBackoffMs?: number; maxBackoffMs?: number } },
): IrisNotifier {
  const now = deps.now ?? (() => new Date());
  const allowed = notificationFilter(settings.disabled);
  const wanted = new Set(settings.drivers);
  const drivers: NotificationDriver[] = [];
  let transport: ThreadedTransport | undefined;
  const versions = (['messaging', 'messagingv2'] as const).filter((d) => wanted.has(d)).map((d) => (d === 'messagingv2' ? 2 : 1) as 1 | 2);
  if (versions.length > 0) {
    // The AMQP side (bodies, publishing) runs on its own thread: here the message is only handed over.
    transport = createThreadedTransport({
      endpoints: parseTransportUrl(settings.transportUrl),
      exchange: settings.exchange,
      queueSize: settings.queueSize,
      retry: settings.retry,
      routes: versions.flatMap((version) => settings.topics.map((topic) => ({ version, topic }))),
      logger: deps.logger,
      ...deps.transportTimings,
    });
  }
  if (wanted.has('log')) drivers.push(logDriver(deps.logger));
  if (wanted.has('noop')) drivers.push(noopDriver);
  const active = transport !== undefined || drivers.some((d) => d !== noopDriver);

  return {
    enabled: (eventType) => active && allowed(eventType),
    emit(eventType: string, payload: NotificationPayload, opts: NotifyOptions = {}) {
      if (!active || !allowed(eventType)) return;
      try {
        const message = buildMessage({ publisherId: settings.publisherId, eventType, priority: opts.priority ?? 'INFO', payload, now: now() });
        const context = settings.requestContext && opts.context ? contextKeys(opts.context) : undefined;
        transport?.publish(message, context);
        for (const driver of drivers) driver.send(message);
      } catch (err) {
        // The port never throws: a notification must not fail the change it reports.
        deps.logger.error({ err, event_type: eventType }, 'could not send notification');
      }
    },
    stats: () => transport?.stats() ?? { sent: 0, dropped: 0, queued: 0, connected: false },
    close: async (timeoutMs) => {
      await transport?.close(timeoutMs);
    },
  };
}

/** The notifier's settings from the configuration. */
export function notificationSettings(config: Config): NotificationSettings {
  const n = config.oslo_messaging_notifications;
  return {
    drivers: n.driver,
    transportUrl: n.transport_url ?? config.DEFAULT.transport_url,
    topics: n.topics,
    retry: n.retry,
    disabled: config.DEFAULT.disabled_notifications,
    publisherId: config.DEFAULT.default_publisher_id,
    exchange: config.DEFAULT.control_exchange,
    queueSize: config.notification_queue_size,
    requestContext: config.notification_request_context,
  };
}

/** oslo.context's names for the ids of a request. */
function contextKeys(ctx: NotificationContext): Record<string, unknown> {
  return {
    request_id: ctx.requestId,
    global_request_id: ctx.globalRequestId ?? null,
    user_id: ctx.userId,
    project_id: ctx.projectId,
  };
}
