/**
 * `createIrisClient`: the typed SDK for the Images API v2 (Iris or any Glance). One client holds
 * one connection pool and, with Keystone, one token; create it once per process.
 */
import { Agent } from 'undici';
import { staticAuth, type AuthProvider } from './auth-provider.js';
import type { IrisClientOptions } from './client-options.js';
import { IrisClientError } from './errors.js';
import { createTransport } from './http-transport.js';
import type { ApiVersion, JsonSchema } from './image-types.js';
import { createImagesApi, type ImagesApi } from './images-api.js';
import { keystonePasswordAuth } from './keystone-auth.js';
import { createInfoApi, type InfoApi } from './info-api.js';
import { createMembersApi, type MembersApi } from './members-api.js';
import { createTasksApi, type TasksApi } from './tasks-api.js';

export type SchemaName = 'image' | 'images' | 'member' | 'members' | 'task' | 'tasks' | (string & {});

export interface IrisClient {
  readonly images: ImagesApi;
  readonly members: MembersApi;
  /** Import tasks (`/v2/tasks`). */
  readonly tasks: TasksApi;
  /** Import methods and stores the cloud offers (`/v2/info/*`). */
  readonly info: InfoApi;
  readonly schemas: {
    /**
     * A JSON schema document (`image`, `images`, `member`, `members`, `task`, `tasks`).
     *
     * @example const schema = await client.schemas.get('image');
     */
    get(name: SchemaName, options?: { signal?: AbortSignal }): Promise<JsonSchema>;
  };
  /**
   * The API versions the server offers (`GET /versions`).
   *
   * @example const [current] = (await client.versions()).filter((v) => v.status === 'CURRENT');
   */
  versions(options?: { signal?: AbortSignal }): Promise<ApiVersion[]>;
  /**
   * The Images API base URL in use (from the options, or Keystone's catalog).
   *
   * @example console.log(await client.endpoint());
   */
  endpoint(): Promise<string>;
  /**
   * Closes pooled connections; the client is unusable afterwards.
   *
   * @example await client.close();
   */
  close(): Promise<void>;
}

const DEFAULT_TIMEOUT_MS = 120_000;
const DEFAULT_RETRIES = 2;
const DEFAULT_RETRY_DELAY_MS = 250;

/**
 * A client for the Images API v2.
 *
 * @example
 *   const client = createIrisClient({ endpoint: 'http://127.0.0.1:9292', token: process.env.OS_AUTH_TOKEN });
 *   const image = await client.images.create({ name: 'cirros', disk_format: 'qcow2', container_format: 'bare' });
 *   await client.images.uploadFile(image.id, 'cirros.qcow2');
 *   for await (const img of client.images.listAll({ sort: 'name:asc' })) console.log(img.id, img.name);
 *   await client.close();
 *
 * @example
 *   // Keystone v3: token and endpoint from the catalog
 *   const client = createIrisClient({
 *     auth: { type: 'password', authUrl: 'http://keystone:5000/v3', username: 'demo', password: 's3cret',
 *             projectName: 'demo', region: 'RegionOne' },
 *   });
 */
export function createIrisClient(options: IrisClientOptions): IrisClient {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const userAgent = options.userAgent ?? 'iris-client';
  const dispatcher = new Agent({ keepAliveTimeout: 10_000, connectTimeout: Math.min(timeoutMs, 30_000) });
  const auth = options.auth ?? (options.token !== undefined ? { type: 'token' as const, token: options.token } : { type: 'none' as const });

  let provider: AuthProvider;
  if (auth.type === 'password') {
    provider = keystonePasswordAuth(auth, { dispatcher, timeoutMs, userAgent, debug: options.debug, endpoint: options.endpoint });
  } else {
    if (options.endpoint === undefined || options.endpoint === '') {
      throw new IrisClientError('InvalidOptions', 'An image endpoint is required (or Keystone password auth to find one)');
    }
    provider = staticAuth(options.endpoint, auth.type === 'token' ? auth.token : undefined);
  }

  const transport = createTransport({
    auth: provider,
    dispatcher,
    timeoutMs,
    retries: Math.max(0, options.retries ?? DEFAULT_RETRIES),
    retryDelayMs: options.retryDelayMs ?? DEFAULT_RETRY_DELAY_MS,
    userAgent,
    debug: options.debug,
  });

  return {
    images: createImagesApi(transport),
    members: createMembersApi(transport),
    tasks: createTasksApi(transport),
    info: createInfoApi(transport),
    schemas: {
      get: (name, opts = {}) =>
        transport.json<JsonSchema>({ method: 'GET', path: `/v2/schemas/${encodeURIComponent(name)}`, idempotent: true, signal: opts.signal }),
    },
    async versions(opts = {}) {
      const doc = await transport.json<{ versions: ApiVersion[] }>({ method: 'GET', path: '/versions', idempotent: true, signal: opts.signal });
      return doc.versions;
    },
    endpoint: () => transport.endpoint(),
    close: () => dispatcher.close(),
  };
}
