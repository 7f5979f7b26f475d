/**
 * The process's log, set up as operators configure Glance's (oslo.log): [DEFAULT] debug,
 * log_file / log_dir, use_stderr, log_date_format, use_syslog / syslog_log_facility; plus
 * Iris's [iris] log_format. pino builds each entry; the destinations here decide where it
 * goes and in which form (plain text lines or pino's JSON lines).
 *
 * @example
 *   const logging = createLogging(config);
 *   process.on('SIGHUP', () => logging.reopen());   // after logrotate moved the file
 *   logging.logger.info({ image_id }, 'image active');
 *
 * Lines logged while a request is served carry its ids (`req_id`, `global_request_id`) even
 * when written through the process's logger (services, stores, the notifier have no request
 * logger): the HTTP layer runs each request inside `withRequestIds`, and a pino mixin adds them.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { spawn, type ChildProcess } from 'node:child_process';
import { statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { destination, multistream, pino, type DestinationStream, type Logger, type StreamEntry } from 'pino';
import type { Config } from './config/config.js';
import { syslogFacility } from './config/option-values.js';

/** The options of Config the log depends on. */
export type LoggingConfig = Pick<Config, 'log_format' | 'syslog_socket' | 'syslog_format'> & {
  readonly DEFAULT: Pick<
    Config['DEFAULT'],
    'debug' | 'log_file' | 'log_dir' | 'use_stderr' | 'log_date_format' | 'use_syslog' | 'syslog_log_facility'
  >;
};

export interface Logging {
  readonly logger: Logger;
  /** Absolute path of the log file, or null. */
  readonly file: string | null;
  /** Reopens the log file under its name (SIGHUP after a rotation); a no-op without one. */
  reopen(): void;
  /** Flushes what is buffered and lets the syslog helper finish. */
  close(): Promise<void>;
}

/** What the destinations write to; tests pass their own. */
export interface LoggingIo {
  readonly stdout: NodeJS.WritableStream & { readonly isTTY?: boolean; readonly fd?: number };
  readonly stderr: NodeJS.WritableStream & { readonly isTTY?: boolean; readonly fd?: number };
  /** The program name for log_dir's default file and the syslog tag. */
  readonly program: string;
}

const PROCESS_IO: LoggingIo = { stdout: process.stdout, stderr: process.stderr, program: 'iris-api' };

const LEVEL_NAMES: Readonly<Record<number, string>> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARNING', 50: 'ERROR', 60: 'CRITICAL' };
/** Syslog severities of pino's levels. */
const SEVERITY: Readonly<Record<number, number>> = { 10: 7, 20: 7, 30: 6, 40: 4, 50: 3, 60: 2 };

/** oslo.log's rule: log_file alone; log_dir/log_file; log_dir/<program>.log; else none. */
export function logFilePath(config: LoggingConfig, cwd: string, program: string): string | null {
  const { log_file: file, log_dir: dir } = config.DEFAULT;
  if (file !== null && dir !== null) return resolve(cwd, dir, file);
  if (file !== null) return resolve(cwd, file);
  if (dir !== null) return resolve(cwd, join(dir, `${program}.log`));
  return null;
}

export function createLogging(config: LoggingConfig, io: LoggingIo = PROCESS_IO, cwd = process.cwd()): Logging {
  const format = config.log_format;
  const textFor = (tty: boolean | undefined): boolean => format === 'text' || (format === 'auto' && tty === true);
  const dateFormat = config.DEFAULT.log_date_format;
  const streams: StreamEntry[] = [];
  const level = config.DEFAULT.debug ? 'debug' : 'info';

  const file = logFilePath(config, cwd, io.program);
  let fileDest: ReturnType<typeof destination> | null = null;
  if (file !== null) {
    // Synchronous writes: a line is in the file when the call returns, so a crash loses nothing.
    fileDest = destination({ dest: file, sync: true, append: true, mkdir: false });
    streams.push({ level, stream: format === 'json' ? fileDest : textStream(fileDest, dateFormat) });
  }
  if (config.DEFAULT.use_stderr) {
    streams.push({ level, stream: consoleStream(io.stderr, 2, textFor(io.stderr.isTTY), dateFormat) });
  }
  // oslo.log: standard output when the log goes nowhere else (syslog is in addition to it).
  if (file === null && !config.DEFAULT.use_stderr) {
    streams.push({ level, stream: consoleStream(io.stdout, 1, textFor(io.stdout.isTTY), dateFormat) });
  }
  let syslog: SyslogStream | null = null;
  if (config.DEFAULT.use_syslog) {
    syslog = openSyslog(config, io, format === 'json');
    if (syslog !== null) streams.push({ level, stream: syslog });
  }

  const logger = pino({ level, base: { pid: process.pid }, mixin: requestIdsMixin }, multistream(streams));
  return {
    logger,
    file,
    reopen: () => fileDest?.reopen(),
    close: async () => {
      fileDest?.flushSync();
      await syslog?.close();
    },
  };
}

/** The log ids of a request: `req_id`, and `global_request_id` when the caller sent one. */
export type RequestLogIds = Readonly<{ req_id: string; global_request_id?: string }>;

const requestIds = new AsyncLocalStorage<RequestLogIds>();
/** Set on a request's own logger (and so inherited by its children: pino children are prototype copies). */
const HAS_REQUEST_IDS = Symbol('iris.hasRequestIds');

/** Runs `fn` (and everything it starts, to the last callback) as part of the request `ids`. */
export function withRequestIds<T>(ids: RequestLogIds, fn: () => T): T {
  return requestIds.run(ids, fn);
}

/** A logger with the request's ids bound (the access and error lines, written outside its async context). */
export function requestLogger(logger: Logger, ids: RequestLogIds): Logger {
  const child = logger.child(ids);
  (child as Logger & { [HAS_REQUEST_IDS]?: true })[HAS_REQUEST_IDS] = true;
  return child;
}

/** The request's ids for a line written in its async context, unless the logger already binds them. */
function requestIdsMixin(_obj: object, _level: number, logger: Logger & { [HAS_REQUEST_IDS]?: true }): object {
  const ids = requestIds.getStore();
  // A fresh object: pino's default merge writes the line's own fields into it.
  return ids === undefined || logger[HAS_REQUEST_IDS] === true ? {} : { ...ids };
}

function consoleStream(stream: LoggingIo['stdout'], fd: number, text: boolean, dateFormat: string): DestinationStream {
  // The process's own descriptors through sonic-boom (synchronous, as pino writes stdout);
  // a stream a test passes in is written to as is.
  const target: DestinationStream = stream.fd === fd ? destination({ dest: fd, sync: true }) : stream;
  return text ? textStream(target, dateFormat) : target;
}

/** A destination that turns pino's JSON line into one plain text line for `target`. */
function textStream(target: DestinationStream, dateFormat: string): DestinationStream {
  return { write: (line: string) => target.write(`${textLine(line, dateFormat, true)}\n`) };
}

/** Keys pino (or Iris's convention) gives every entry; the rest are shown as key=value. */
const FIXED_KEYS = new Set(['level', 'time', 'pid', 'hostname', 'msg', 'err', 'req_id']);

/**
 * One entry as text, oslo.log-like: `2026-12-06 07:10:01.123 4711 INFO [req-id] message key=value`,
 * then an error's stack on the lines after. Without `withTime`, no time stamp and no pid (syslog has both).
 */
export function textLine(json: string, dateFormat: string, withTime: boolean): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json.trimEnd();
  }
  const parts: string[] = [];
  if (withTime) {
    const time = new Date(typeof entry.time === 'number' ? entry.time : Date.now());
    parts.push(`${strftime(time, dateFormat)}.${String(time.getMilliseconds()).padStart(3, '0')}`, String(entry.pid ?? process.pid));
  }
  parts.push(LEVEL_NAMES[entry.level as number] ?? String(entry.level));
  if (entry.req_id !== undefined) parts.push(`[${String(entry.req_id)}]`);
  parts.push(String(entry.msg ?? ''));
  for (const [key, value] of Object.entries(entry)) {
    if (FIXED_KEYS.has(key) || value === undefined) continue;
    parts.push(`${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`);
  }
  let line = parts.join(' ');
  const err = entry.err as { message?: string; stack?: string } | undefined;
  if (err !== undefined) line += withTime && err.stack !== undefined ? `\n${err.stack}` : `: ${err.message ?? ''}`;
  return line;
}

const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

/** The strftime directives log_date_format uses in practice, in local time; others are kept as written. */
export function strftime(d: Date, format: string): string {
  const two = (n: number) => String(n).padStart(2, '0');
  const offset = -d.getTimezoneOffset();
  // An invalid Date has NaN fields: its names print as NaN, like its numbers.
  const day = DAYS[d.getDay()] ?? 'NaN';
  const month = MONTHS[d.getMonth()] ?? 'NaN';
  return format.replace(/%([a-zA-Z%])/g, (whole, c: string) => {
    switch (c) {
      case 'Y': return String(d.getFullYear());
      case 'y': return two(d.getFullYear() % 100);
      case 'm': return two(d.getMonth() + 1);
      case 'd': return two(d.getDate());
      case 'e': return String(d.getDate()).padStart(2, ' ');
      case 'H': return two(d.getHours());
      case 'I': return two(d.getHours() % 12 === 0 ? 12 : d.getHours() % 12);
      case 'M': return two(d.getMinutes());
      case 'S': return two(d.getSeconds());
      case 'p': return d.getHours() < 12 ? 'AM' : 'PM';
      case 'j': {
        const start = new Date(d.getFullYear(), 0, 1);
        return String(Math.floor((d.getTime() - start.getTime()) / 86_400_000) + 1).padStart(3, '0');
      }
      case 'a': return day.slice(0, 3);
      case 'A': return day;
      case 'b': return month.slice(0, 3);
      case 'B': return month;
      case 'z': return `${offset < 0 ? '-' : '+'}${two(Math.floor(Math.abs(offset) / 60))}${two(Math.abs(offset) % 60)}`;
      case 'Z': return Intl.DateTimeFormat('en', { timeZoneName: 'short' }).formatToParts(d).find((p) => p.type === 'timeZoneName')?.value ?? '';
      case '%': return '%';
      default: return whole;
    }
  });
}

interface SyslogStream extends DestinationStream {
  close(): Promise<void>;
}

/**
 * The syslog destination: lines `<PRI>message` piped to util-linux logger(1), which frames
 * them as RFC 3164 or 5424 and sends them to the local socket (Node has no Unix datagram
 * sockets). Null, after one line on stderr, when the socket or logger(1) is missing.
 */
function openSyslog(config: LoggingConfig, io: LoggingIo, json: boolean): SyslogStream | null {
  const socket = config.syslog_socket;
  const say = (why: string) => io.stderr.write(`iris: use_syslog: ${why}; logging without syslog\n`);
  try {
    if (!statSync(socket).isSocket()) {
      say(`${socket} is not a socket`);
      return null;
    }
  } catch {
    say(`${socket} does not exist`);
    return null;
  }
  const facility = syslogFacility(config.DEFAULT.syslog_log_facility);
  const child: ChildProcess = spawn(
    'logger',
    ['--socket', socket, '--socket-errors=on', '--prio-prefix', `--${config.syslog_format}`, '--tag', io.program, `--id=${process.pid}`],
    { stdio: ['pipe', 'ignore', 'inherit'] },
  );
  let failed = false;
  const exited = new Promise<void>((done) => {
    child.once('error', (err) => {
      failed = true;
      say(`cannot run logger(1): ${err.message}`);
      done();
    });
    child.once('exit', () => done());
  });
  // The helper must not keep the process alive, nor its pipe error end it.
  child.unref();
  child.stdin?.on('error', () => {
    failed = true;
  });
  (child.stdin as unknown as { unref?: () => void } | null)?.unref?.();
  return {
    write: (line: string) => {
      if (failed || child.stdin === null) return;
      let level = 30;
      try {
        level = (JSON.parse(line) as { level: number }).level;
      } catch {
        // not JSON: logged at info
      }
      const body = json ? line.trimEnd() : textLine(line, '', false);
      // logger(1) reads one message per line: the stack of an error goes on the same line.
      child.stdin.write(`<${facility * 8 + (SEVERITY[level] ?? 6)}>${body.replace(/\n/g, ' | ')}\n`);
    },
    close: async () => {
      child.stdin?.end();
      if (!failed) await exited;
    },
  };
}
