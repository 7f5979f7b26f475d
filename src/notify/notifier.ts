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
import type { Notifier } from '../domain/ports.js';
import { createAmqpTransport, type AmqpTransport, type TransportLogger, type TransportStats } from './amqp-transport.js';
import { notificationFilter } from './disabled-notifications.js';
import { logDriver, noopDriver, type LogDriverLogger, type NotificationDriver } from './local-drivers.js';
import { amqpBody, buildMessage, type NotificationPayload, type NotificationPriority } from './oslo-message.js';
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
  let transport: AmqpTransport | undefined;
  const versions = (['messaging', 'messagingv2'] as const).filter((d) => wanted.has(d)).map((d) => (d === 'messagingv2' ? 2 : 1) as 1 | 2);
  if (versions.length > 0) {
    const amqp = createAmqpTransport({
      endpoints: parseTransportUrl(settings.transportUrl),
      exchange: settings.exchange,
      queueSize: settings.queueSize,
      retry: settings.retry,
      logger: deps.logger,
      ...deps.transportTimings,
    });
    transport = amqp;
    for (const version of versions) {
      drivers.push({
        send(message) {
          const payload = message.payload;
          const imageId = typeof payload === 'object' ? ((payload.id ?? payload.image_id) as string | undefined) : undefined;
          for (const topic of settings.topics) {
            amqp.publish(`${topic}.${message.priority.toLowerCase()}`, amqpBody(message, version), { eventType: message.event_type, imageId });
          }
        },
        close: () => amqp.close(),
      });
    }
  }
  if (wanted.has('log')) drivers.push(logDriver(deps.logger));
  if (wanted.has('noop')) drivers.push(noopDriver);
  const active = drivers.some((d) => d !== noopDriver);

  return {
    enabled: (eventType) => active && allowed(eventType),
    emit(eventType: string, payload: NotificationPayload, priority: NotificationPriority = 'INFO') {
      if (!active || !allowed(eventType)) return;
      try {
        const message = buildMessage({ publisherId: settings.publisherId, eventType, priority, payload, now: now() });
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
  };
}
