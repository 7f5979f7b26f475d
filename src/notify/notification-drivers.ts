/** The notification drivers Iris has (`[oslo_messaging_notifications] driver`), oslo.messaging's names. */
export const NOTIFICATION_DRIVERS = ['messagingv2', 'messaging', 'log', 'noop'] as const;
export type NotificationDriverName = (typeof NOTIFICATION_DRIVERS)[number];
