/**
 * Picks the Authenticator for `[paste_deploy] flavor`, from one explicit table, and checks
 * the options that flavor needs so a broken setup stops at start with a message naming them.
 */
import type { Logger } from 'pino';
import type { AuthFlavor, Config } from '../config/config.js';
import { ConfigError } from '../config/config-error.js';
import { createApiKeyAuthenticator } from './api-key-authenticator.js';
import type { Authenticator } from './authenticator.js';
import { createHeaderAuthenticator } from './header-authenticator.js';
import { createKeystoneAuthenticator } from './keystone-authenticator.js';
import { createKeystoneClient } from './keystone-client.js';

type AuthLogger = Pick<Logger, 'debug' | 'info' | 'warn' | 'error'>;

const FACTORIES: Readonly<Record<AuthFlavor, (config: Config, logger: AuthLogger) => Authenticator>> = {
  hybrid: () => createHeaderAuthenticator('hybrid'),
  noauth: () => createHeaderAuthenticator('noauth'),
  apikey: (config, logger) => createApiKeyAuthenticator({ file: config.iris_auth.api_key_file, logger }),
  keystone: (config, logger) => {
    const k = config.keystone_authtoken;
    const missing = (['auth_url', 'username', 'password', 'project_name'] as const).filter((name) => !k[name]);
    if (missing.length > 0) {
      throw new ConfigError(
        `[paste_deploy] flavor = keystone needs [keystone_authtoken] ${missing.join(', ')} ` +
          '(the service user Iris validates tokens with)',
      );
    }
    const authUrl = k.auth_url as string;
    return createKeystoneAuthenticator({
      client: createKeystoneClient({ authUrl }),
      credentials: {
        username: k.username,
        password: k.password,
        userDomainName: k.user_domain_name,
        projectName: k.project_name,
        projectDomainName: k.project_domain_name,
      },
      wwwAuthenticateUri: k.www_authenticate_uri ?? authUrl,
      serviceTokenRoles: k.service_token_roles,
      serviceTokenRolesRequired: k.service_token_roles_required,
      cacheTimeMs: k.token_cache_time * 1000,
      cacheSize: k.token_cache_size,
      timeoutMs: k.http_connect_timeout * 1000,
      logger,
    });
  },
};

/**
 * @throws ConfigError when the flavor's options are incomplete, or (apikey) the key file
 *   exists but cannot be read.
 */
export function createAuthenticator(config: Config, logger: AuthLogger): Authenticator {
  try {
    return FACTORIES[config.paste_deploy.flavor](config, logger);
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    throw new ConfigError(error instanceof Error ? error.message : String(error), { cause: error });
  }
}
