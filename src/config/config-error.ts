/**
 * A configuration problem the operator must fix before Iris can start: a missing file,
 * a malformed line, a bad option value or an unsupported choice. The message always says
 * where (file:line, environment variable or command-line flag) and what was expected.
 */
export class ConfigError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ConfigError';
  }
}
