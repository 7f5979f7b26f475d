/**
 * oslo.messaging's `log` driver (each notification as one JSON log line, at its priority, from
 * the logger `oslo.messaging.notification.<event_type>`) and `noop` (nothing).
 */
import type { OsloMessage } from './oslo-message.js';
import { pyJsonDumps } from '../domain/py-format.js';

export interface NotificationDriver {
  send(message: OsloMessage): void;
  close(): Promise<void>;
}

export interface LogDriverLogger {
  child(bindings: Record<string, unknown>): Record<'debug' | 'info' | 'warn' | 'error' | 'fatal', (msg: string) => void>;
}

const LEVELS = { AUDIT: 'info', DEBUG: 'debug', INFO: 'info', WARN: 'warn', ERROR: 'error', CRITICAL: 'fatal', SAMPLE: 'info' } as const;

export function logDriver(logger: LogDriverLogger): NotificationDriver {
  const loggers = new Map<string, ReturnType<LogDriverLogger['child']>>();
  return {
    send(message) {
      let log = loggers.get(message.event_type);
      if (log === undefined) {
        log = logger.child({ logger: `oslo.messaging.notification.${message.event_type}` });
        loggers.set(message.event_type, log);
      }
      log[LEVELS[message.priority]](pyJsonDumps(message));
    },
    close: () => Promise.resolve(),
  };
}

export const noopDriver: NotificationDriver = { send: () => undefined, close: () => Promise.resolve() };
