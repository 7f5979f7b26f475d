/**
 * Counts route handlers still running, including those whose client has gone away (an
 * aborted upload still puts its image back to queued). Shutdown waits for this count to
 * reach zero before it closes the database under them.
 */
import type { FastifyInstance } from 'fastify';

const counts = new WeakMap<FastifyInstance, { running: number; idle: (() => void)[] }>();

/** Wraps every route's handler registered after this call. Call right after creating `app`. */
export function trackHandlers(app: FastifyInstance): void {
  const state = { running: 0, idle: [] as (() => void)[] };
  counts.set(app, state);
  const done = () => {
    state.running -= 1;
    if (state.running === 0) for (const wake of state.idle.splice(0)) wake();
  };
  app.addHook('onRoute', (route) => {
    const handler = route.handler;
    // Not async: a handler's own return value (a promise, a reply, undefined) is passed on as is.
    route.handler = function tracked(this: FastifyInstance, request, reply) {
      state.running += 1;
      let result: unknown;
      try {
        result = handler.call(this, request, reply);
      } catch (error) {
        done();
        throw error;
      }
      if (result !== null && typeof result === 'object' && typeof (result as Promise<unknown>).then === 'function') {
        (result as Promise<unknown>).then(done, done);
      } else {
        done();
      }
      return result as ReturnType<typeof handler>;
    };
  });
}

/** Resolves when no handler of `app` is running (at once if none is, or if untracked). */
export function handlersIdle(app: FastifyInstance): Promise<void> {
  const state = counts.get(app);
  if (state === undefined || state.running === 0) return Promise.resolve();
  return new Promise((resolve) => state.idle.push(resolve));
}
