/** The [oslo_messaging_notifications] section's rows of the option table (see ../config-options.ts). */
import { NOTIFICATION_DRIVERS } from '../../notify/notification-drivers.js';
import { parseTransportUrl } from '../../notify/transport-url.js';
import { isOneOf } from '../option-values.js';
import type { ConfigOption } from '../option-types.js';

export const OSLO_MESSAGING_NOTIFICATIONS_OPTIONS = [
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
    convert: (value: readonly string[]) =>
      value.map((d) => {
        if (!isOneOf(d, NOTIFICATION_DRIVERS)) {
          throw new Error(`notification driver ${JSON.stringify(d)} is not supported; use ${NOTIFICATION_DRIVERS.join(', ')}`);
        }
        return d;
      }),
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
] as const satisfies readonly ConfigOption[];
