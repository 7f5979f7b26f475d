/**
 * The API key file of flavor `apikey` (`[iris_auth] api_key_file`): JSON holding, for each
 * key, an id, the SHA-256 of the secret (never the secret), and the identity the key stands
 * for. Written by `iris-manage key …`, read by the server (api-key-authenticator.ts).
 *
 *   {"version": 1, "keys": [{"id": "k3f9…", "sha256": "<hex>", "project": "p1", "user": "ci",
 *                            "roles": ["member", "reader"], "created_at": "2026-…Z"}]}
 *
 * A secret looks like `iris_<id>_<43 base64url characters>`: the id tells which record to
 * compare against, so the comparison is one constant-time digest comparison whatever the
 * file holds. 256 random bits make hashing without a salt or stretching safe: there is
 * nothing to guess.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

export interface ApiKeyRecord {
  readonly id: string;
  /** Hex SHA-256 of the whole secret. */
  readonly sha256: string;
  readonly project: string;
  readonly user: string;
  /** Lower-cased. */
  readonly roles: readonly string[];
  /** ISO 8601. */
  readonly created_at: string;
}

const SECRET = /^iris_([0-9a-f]{16})_[A-Za-z0-9_-]{43}$/;

/** The id inside a secret, or null when `secret` is not shaped like an Iris API key. */
export function keyIdOf(secret: string): string | null {
  return SECRET.exec(secret)?.[1] ?? null;
}

/** SHA-256 of a secret, as stored. */
export function digestOf(secret: string): Buffer {
  return createHash('sha256').update(secret, 'utf8').digest();
}

/**
 * Reads the key file. A missing file is no keys; anything unreadable or malformed throws an
 * Error naming the file, so a damaged file is never taken for an empty one.
 */
export function readApiKeys(path: string): ApiKeyRecord[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new Error(`cannot read API key file ${path}: ${(error as Error).message}`, { cause: error });
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (error) {
    throw new Error(`API key file ${path} is not JSON`, { cause: error });
  }
  const keys = (doc as { version?: unknown; keys?: unknown } | null)?.keys;
  if ((doc as { version?: unknown } | null)?.version !== 1 || !Array.isArray(keys)) {
    throw new Error(`API key file ${path} is not a version 1 key file ({"version": 1, "keys": [...]})`);
  }
  return keys.map((key: unknown, i: number) => {
    const k = key as Partial<Record<keyof ApiKeyRecord, unknown>> | null;
    const ok =
      k !== null &&
      typeof k.id === 'string' &&
      typeof k.sha256 === 'string' &&
      /^[0-9a-f]{64}$/.test(k.sha256) &&
      typeof k.project === 'string' &&
      typeof k.user === 'string' &&
      Array.isArray(k.roles) &&
      k.roles.every((r) => typeof r === 'string') &&
      typeof k.created_at === 'string';
    if (!ok) throw new Error(`API key file ${path}: entry ${i} is malformed`);
    return {
      id: k.id as string,
      sha256: k.sha256 as string,
      project: k.project as string,
      user: k.user as string,
      roles: (k.roles as string[]).map((r) => r.toLowerCase()),
      created_at: k.created_at as string,
    };
  });
}

/**
 * Replaces the key file atomically (a temporary file renamed over it), readable by its owner
 * only: a reader sees the old file or the new one, never half of one.
 */
export function writeApiKeys(path: string, keys: readonly ApiKeyRecord[]): void {
  mkdirSync(dirname(path), { recursive: true });
  const staging = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    writeFileSync(staging, `${JSON.stringify({ version: 1, keys }, null, 2)}\n`, { mode: 0o600, flush: true });
    renameSync(staging, path);
  } catch (error) {
    rmSync(staging, { force: true });
    throw error;
  }
}

export interface NewApiKey {
  readonly project: string;
  readonly user: string;
  readonly roles: readonly string[];
  /** Default: now. */
  readonly createdAt?: Date;
}

/**
 * Adds a key to the file and returns its record and its secret — the only time the secret
 * exists outside the caller's hands.
 *
 * @example
 *   const { record, secret } = createApiKey(file, { project: 'p1', user: 'ci', roles: ['member'] });
 */
export function createApiKey(path: string, spec: NewApiKey): { record: ApiKeyRecord; secret: string } {
  if (!spec.project || !spec.user) throw new Error('a key needs a project and a user');
  const keys = readApiKeys(path);
  let id: string;
  do id = randomBytes(8).toString('hex');
  while (keys.some((k) => k.id === id));
  const secret = `iris_${id}_${randomBytes(32).toString('base64url')}`;
  const record: ApiKeyRecord = {
    id,
    sha256: digestOf(secret).toString('hex'),
    project: spec.project,
    user: spec.user,
    roles: [...new Set(spec.roles.map((r) => r.trim().toLowerCase()).filter((r) => r !== ''))],
    created_at: (spec.createdAt ?? new Date()).toISOString(),
  };
  writeApiKeys(path, [...keys, record]);
  return { record, secret };
}

/** Removes the key `id`; false when there is none. */
export function revokeApiKey(path: string, id: string): boolean {
  const keys = readApiKeys(path);
  const kept = keys.filter((k) => k.id !== id);
  if (kept.length === keys.length) return false;
  writeApiKeys(path, kept);
  return true;
}
