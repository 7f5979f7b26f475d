/**
 * `swift_store_config_file`: glance_store's file of Swift account references, one INI section
 * per reference, so credentials stay out of the image locations (`swift+config://ref1/…`):
 *
 *   [ref1]
 *   auth_address = http://keystone:5000/v3
 *   user = service:glance
 *   key = secret
 *   auth_version = 3
 *   user_domain_id = default
 *
 * As in glance_store: auth_address, user and key are required (a section missing one is skipped
 * and logged); user and project domains default to the id `default` when neither id nor name is
 * set; auth_version defaults to swift_store_auth_version. Without a config file, the one
 * reference named by default_swift_reference is built from swift_store_auth_address/user/key.
 */
import { readFileSync } from 'node:fs';
import { parseIni } from '../../config/ini.js';
import type { SwiftCredentials } from './swift-auth.js';

/**
 * Reads the references of `file`. `onSkipped` hears of each section skipped for a missing option.
 * @throws Error when the file cannot be read or parsed (Glance's BadStoreConfiguration).
 */
export function loadSwiftReferences(
  file: string,
  defaultAuthVersion: string,
  onSkipped: (reference: string, missing: string) => void,
): Map<string, SwiftCredentials> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new Error(`swift config file ${file} not found: ${(error as Error).message}`, { cause: error });
  }
  const references = new Map<string, SwiftCredentials>();
  const sections = parseIni(text, file);
  const defaults = sections.get('DEFAULT');
  for (const [name, options] of sections) {
    // configparser: keys are case-insensitive and [DEFAULT] is inherited by every section.
    if (name === 'DEFAULT') continue;
    const get = (key: string): string | undefined => {
      for (const map of [options, defaults]) {
        for (const [k, v] of map ?? []) if (k.toLowerCase() === key) return v;
      }
      return undefined;
    };
    const missing = ['auth_address', 'user', 'key'].find((k) => get(k) === undefined);
    if (missing !== undefined) {
      onSkipped(name, missing);
      continue;
    }
    const userDomainName = get('user_domain_name');
    const projectDomainName = get('project_domain_name');
    references.set(name, {
      authAddress: get('auth_address')!,
      user: get('user')!,
      key: get('key')!,
      authVersion: get('auth_version') ?? defaultAuthVersion,
      userDomainName,
      userDomainId: get('user_domain_id') ?? (userDomainName === undefined ? 'default' : undefined),
      projectDomainName,
      projectDomainId: get('project_domain_id') ?? (projectDomainName === undefined ? 'default' : undefined),
    });
  }
  return references;
}
