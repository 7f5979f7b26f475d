/**
 * How the blob layer reports a failed clean-up (deleting a committed blob or a temp file after
 * another error): the error being handled must win, but the leftover must not go unnoticed.
 */
export type CleanupReporter = (message: string, error: unknown, extra: Readonly<Record<string, unknown>>) => void;

/**
 * Used when the composition root passes no reporter: a process warning on stderr, so a
 * leftover is never silent.
 */
export const warnCleanup: CleanupReporter = (message, error, extra) => {
  process.emitWarning(`${message} ${JSON.stringify(extra)}: ${error instanceof Error ? error.message : String(error)}`, 'IrisCleanupWarning');
};
