/**
 * The option groups of the store types beyond `file`: Glance's names, types, defaults and
 * bounds (glance_store 4.x `_drivers/swift/{store,utils}.py`, `s3.py`, `http.py`, `rbd.py`). Each group is
 * read from `[glance_store]` for the single store and from the store's own section with
 * enabled_backends; options/glance-store.ts and options/backend.ts place the rows. The parsed values are
 * exactly the driver factories' options (`src/blob/store-options.ts`).
 */
import { isAbsolute, resolve } from 'node:path';
import type { HttpStoreOptions, S3StoreOptions, SwiftStoreOptions } from '../blob/store-options.js';
import type { ConfigOption, OptionContext } from './option-types.js';

/** The store types Iris can run, and the Glance types it lacks. */
export const IRIS_STORE_TYPES = ['file', 'swift', 's3', 'http', 'rbd'] as const;
export type IrisStoreType = (typeof IRIS_STORE_TYPES)[number];
export const GLANCE_STORE_TYPES: readonly string[] = ['file', 'http', 'swift', 'rbd', 'cinder', 's3', 'vmware'];

/**
 * The groups' values in [glance_store] (their rows are built per type, so Config takes their
 * type from the drivers' options); the s3 group as read, before its required options are
 * checked (only when s3 is used).
 */
export type GlanceStoreGroupValues = SwiftStoreOptions & OrNull<S3StoreOptions> & HttpStoreOptions;
type OrNull<T> = { readonly [K in keyof T]: T[K] | null };

/** A row of a type's group, without its section (placed by {@link storeTypeRows}). */
type Row = Omit<ConfigOption, 'section'> & { readonly storeType: Exclude<IrisStoreType, 'file'> };

/** '' (unset) is null; anything else as given. */
const orNull = (value: string): string | null => (value === '' ? null : value);
/** '' is null; a path is made absolute against the working directory. */
const pathOrNull = (value: string, ctx: OptionContext): string | null =>
  value === '' ? null : isAbsolute(value) ? value : resolve(ctx.cwd, value);

function oneOf<T extends string>(choices: readonly T[]): (value: string) => T {
  return (value) => {
    if (!(choices as readonly string[]).includes(value)) {
      throw new Error(`${JSON.stringify(value)} is not one of ${choices.join(', ')}`);
    }
    return value as T;
  };
}

/** oslo DictOpt `http:http://proxy:3128,https:http://proxy:3128` for http_proxy_information. */
export function parseProxyInformation(raw: string): Readonly<Record<string, string>> {
  const out: Record<string, string> = {};
  if (raw.trim() === '') return out;
  for (const pair of raw.split(',')) {
    const colon = pair.indexOf(':');
    if (colon < 0) throw new Error(`${JSON.stringify(pair.trim())} is not scheme:proxy-url (write http:http://proxy:3128)`);
    const scheme = pair.slice(0, colon).trim().toLowerCase();
    const proxy = pair.slice(colon + 1).trim();
    if (scheme !== 'http' && scheme !== 'https') throw new Error(`${JSON.stringify(scheme)} is not http or https`);
    let url: URL;
    try {
      url = new URL(proxy);
    } catch {
      throw new Error(`proxy for ${scheme}, ${JSON.stringify(proxy)}, is not a URL`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`proxy for ${scheme} must be an http:// or https:// URL`);
    out[scheme] = proxy;
  }
  return out;
}

const NONE = '<None>';

const ROWS: readonly Row[] = [
  // ---- swift -------------------------------------------------------------------------------
  {
    storeType: 'swift',
    name: 'default_swift_reference',
    type: 'string',
    default: 'ref1',
    help: 'swift: the section of swift_store_config_file holding the account images are stored with.',
  },
  {
    storeType: 'swift',
    name: 'swift_store_config_file',
    type: 'string',
    default: '',
    defaultText: NONE,
    help:
      'swift: file of Swift accounts (one section per reference, with auth_address, user, key, auth_version, ' +
      "project/user domain); keeps credentials out of image locations (swift+config://). Exclusive with swift_store_auth_address.",
    convert: pathOrNull,
  },
  {
    storeType: 'swift',
    name: 'swift_store_auth_address',
    type: 'string',
    default: '',
    defaultText: NONE,
    help: 'swift: the authentication URL, Keystone (e.g. http://keystone:5000/v3) or tempauth (http://swift:8080/auth/v1.0).',
    convert: orNull,
  },
  {
    storeType: 'swift',
    name: 'swift_store_user',
    type: 'string',
    default: '',
    defaultText: NONE,
    help: 'swift: the user, project:user for Keystone or account:user for tempauth.',
    convert: orNull,
  },
  {
    storeType: 'swift',
    name: 'swift_store_key',
    type: 'string',
    default: '',
    defaultText: NONE,
    help: "swift: the user's password or tempauth key.",
    convert: orNull,
  },
  {
    storeType: 'swift',
    name: 'swift_store_auth_version',
    type: 'string',
    default: '2',
    help: 'swift: 1 for tempauth, 2 or 3 for Keystone (Iris speaks the v3 API to Keystone for both).',
    convert: oneOf(['1', '2', '3'] as const),
  },
  {
    storeType: 'swift',
    name: 'swift_store_auth_insecure',
    type: 'boolean',
    default: 'false',
    help: 'swift: do not verify the TLS certificates of the auth and storage endpoints.',
  },
  {
    storeType: 'swift',
    name: 'swift_store_cacert',
    type: 'string',
    default: '',
    defaultText: NONE,
    help: "swift: CA bundle that verifies the endpoints' certificates; unset = the system's.",
    convert: pathOrNull,
  },
  {
    storeType: 'swift',
    name: 'swift_store_region',
    type: 'string',
    default: '',
    defaultText: NONE,
    help: 'swift: the Keystone catalog region of the object-store endpoint; unset = the first one.',
    convert: orNull,
  },
  {
    storeType: 'swift',
    name: 'swift_store_endpoint',
    type: 'string',
    default: '',
    defaultText: NONE,
    help: 'swift: storage URL used instead of the one from authentication (e.g. https://swift.example.com/v1/AUTH_x).',
    convert: orNull,
  },
  {
    storeType: 'swift',
    name: 'swift_store_endpoint_type',
    type: 'string',
    default: 'publicURL',
    help: 'swift: catalog interface of the endpoint: publicURL, adminURL or internalURL.',
    convert: oneOf(['publicURL', 'adminURL', 'internalURL'] as const),
  },
  {
    storeType: 'swift',
    name: 'swift_store_service_type',
    type: 'string',
    default: 'object-store',
    help: 'swift: catalog service type of the endpoint.',
  },
  {
    storeType: 'swift',
    name: 'swift_store_container',
    type: 'string',
    default: 'glance',
    help: 'swift: container images are stored in (the prefix with swift_store_multiple_containers_seed).',
    convert: (value: string) => {
      if (value === '' || value.includes('/')) throw new Error('must be a container name (not empty, no "/")');
      return value;
    },
  },
  {
    storeType: 'swift',
    name: 'swift_store_create_container_on_put',
    type: 'boolean',
    default: 'false',
    help: 'swift: create the container on upload when it does not exist.',
  },
  {
    storeType: 'swift',
    name: 'swift_store_multiple_containers_seed',
    type: 'integer',
    default: '0',
    min: 0,
    max: 32,
    help: 'swift: 0 = one container; N = one container per first N characters of the image id (<container>_<chars>).',
  },
  {
    storeType: 'swift',
    name: 'swift_store_large_object_size',
    type: 'integer',
    default: '5120',
    min: 1,
    help: 'swift: in MB; larger images are written as segments with a manifest.',
  },
  {
    storeType: 'swift',
    name: 'swift_store_large_object_chunk_size',
    type: 'integer',
    default: '200',
    min: 1,
    help: 'swift: in MB, the segment size of large images.',
  },
  {
    storeType: 'swift',
    name: 'swift_store_retry_get_count',
    type: 'integer',
    default: '0',
    min: 0,
    help: 'swift: how many times a broken download is resumed from the byte it reached.',
  },
  {
    storeType: 'swift',
    name: 'swift_store_expire_soon_interval',
    type: 'integer',
    default: '60',
    min: 0,
    help: 'swift: seconds before its expiry that a token is renewed.',
  },
  {
    storeType: 'swift',
    name: 'swift_buffer_on_upload',
    type: 'boolean',
    default: 'false',
    help: 'swift: accepted for Glance compatibility and ignored (Iris never buffers uploads on disk).',
  },
  {
    storeType: 'swift',
    name: 'swift_store_multi_tenant',
    type: 'boolean',
    default: 'false',
    help: 'swift: per-tenant containers; not available in Iris (true stops the start).',
    convert: (value: boolean) => {
      if (value) throw new Error('multi-tenant Swift is not available in Iris');
      return value;
    },
  },
  ...['swift_store_admin_tenants', 'swift_store_ssl_compression', 'swift_store_use_trusts', 'swift_upload_buffer_dir'].map(
    (name): Row => ({
      storeType: 'swift',
      name,
      type: 'string',
      default: '',
      defaultText: NONE,
      ignored: true,
      help: 'swift: accepted for Glance compatibility and ignored (multi-tenant and disk buffering are not available in Iris).',
    }),
  ),
  // ---- s3 ----------------------------------------------------------------------------------
  {
    storeType: 's3',
    name: 's3_store_host',
    type: 'string',
    default: '',
    defaultText: NONE,
    help: 's3: the endpoint, host[:port] or URL (e.g. http://127.0.0.1:8080); required.',
    convert: orNull,
  },
  {
    storeType: 's3',
    name: 's3_store_access_key',
    type: 'string',
    default: '',
    defaultText: NONE,
    help: 's3: the access key (may contain ":"); required.',
    convert: orNull,
  },
  {
    storeType: 's3',
    name: 's3_store_secret_key',
    type: 'string',
    default: '',
    defaultText: NONE,
    help: 's3: the secret key; required.',
    convert: orNull,
  },
  {
    storeType: 's3',
    name: 's3_store_bucket',
    type: 'string',
    default: '',
    defaultText: NONE,
    help: 's3: the bucket images are stored in; required.',
    convert: orNull,
  },
  {
    storeType: 's3',
    name: 's3_store_create_bucket_on_put',
    type: 'boolean',
    default: 'false',
    help: 's3: create the bucket on upload when it does not exist.',
  },
  {
    storeType: 's3',
    name: 's3_store_bucket_url_format',
    type: 'string',
    default: 'auto',
    help: 's3: bucket addressing: path (host/bucket), virtual (bucket.host) or auto.',
    convert: oneOf(['auto', 'virtual', 'path'] as const),
  },
  {
    storeType: 's3',
    name: 's3_store_region_name',
    type: 'string',
    default: '',
    defaultText: NONE,
    help: 's3: region requests are signed for; unset = derived from s3_store_host as glance_store does.',
    convert: orNull,
  },
  {
    storeType: 's3',
    name: 's3_store_large_object_size',
    type: 'integer',
    default: '100',
    min: 0,
    help: 's3: in MB; images this large or larger are uploaded in parts (multipart upload).',
  },
  {
    storeType: 's3',
    name: 's3_store_large_object_chunk_size',
    type: 'integer',
    default: '10',
    min: 5,
    help: 's3: in MB, the part size of multipart uploads (S3 requires at least 5).',
  },
  {
    storeType: 's3',
    name: 's3_store_thread_pools',
    type: 'integer',
    default: '10',
    min: 1,
    help: 's3: parts of one multipart upload sent in parallel.',
  },
  {
    storeType: 's3',
    name: 's3_store_cacert',
    type: 'string',
    default: '',
    defaultText: NONE,
    help: "s3: CA bundle that verifies the endpoint's certificate; unset = the system's.",
    convert: pathOrNull,
  },
  // ---- http --------------------------------------------------------------------------------
  {
    storeType: 'http',
    name: 'https_insecure',
    type: 'boolean',
    default: 'true',
    help: "http: do not verify https certificates of image locations (Glance's default: true).",
  },
  {
    storeType: 'http',
    name: 'https_ca_certificates_file',
    type: 'string',
    default: '',
    defaultText: NONE,
    help: "http: CA bundle that verifies https image locations when https_insecure is false; unset = the system's.",
    convert: pathOrNull,
  },
  {
    storeType: 'http',
    name: 'http_proxy_information',
    type: 'string',
    default: '',
    defaultText: '{}',
    help: 'http: proxies by URL scheme, e.g. http:http://proxy:3128,https:http://proxy:3128.',
    convert: parseProxyInformation,
  },
  // ---- rbd ---------------------------------------------------------------------------------
  {
    storeType: 'rbd',
    name: 'rbd_store_pool',
    type: 'string',
    default: 'images',
    help: 'rbd: the RADOS pool images are stored in.',
  },
  {
    storeType: 'rbd',
    name: 'rbd_store_user',
    type: 'string',
    default: '',
    defaultText: NONE,
    help: "rbd: the RADOS user (without client.) to authenticate as; unset = librados's default.",
    convert: orNull,
  },
  {
    storeType: 'rbd',
    name: 'rbd_store_ceph_conf',
    type: 'string',
    default: '',
    help: "rbd: the Ceph configuration file (with the user's keyring); empty = librados's default search (/etc/ceph/ceph.conf…).",
    convert: pathOrNull,
  },
  {
    storeType: 'rbd',
    name: 'rbd_store_chunk_size',
    type: 'integer',
    default: '8',
    min: 1,
    help: 'rbd: in MiB, the object size of the RBD images (best a power of two) and the unit of writes.',
  },
  {
    storeType: 'rbd',
    name: 'rados_connect_timeout',
    type: 'integer',
    default: '0',
    help: "rbd: seconds to wait for the Ceph cluster on connect; 0 or less = librados's default.",
  },
  {
    storeType: 'rbd',
    name: 'rbd_thin_provisioning',
    type: 'boolean',
    default: 'false',
    help: 'rbd: do not write chunks of zeros (they read back as zeros and take no space).',
  },
];

/** The group's rows placed in `section` (`glance_store`, or the per-store placeholder). */
export function storeTypeRows(section: string): ConfigOption[] {
  return ROWS.map(({ storeType: _type, ...row }) => ({ ...row, section }) as ConfigOption);
}

/** Names of the options a type reads (not the ignored ones). */
export function storeTypeOptionNames(type: IrisStoreType): string[] {
  return ROWS.filter((r) => r.storeType === type && r.ignored !== true).map((r) => r.name);
}

/** Whether an option row belongs to a type's group (any type when `type` is undefined). */
export function isStoreTypeOption(name: string, type?: IrisStoreType): boolean {
  return ROWS.some((r) => r.name === name && (type === undefined || r.storeType === type));
}

/**
 * Cross-option checks of a type's parsed options (what one option alone cannot say). Returns
 * the first problem as one line, naming the options in `section`, or null.
 */
export function storeTypeProblem(type: IrisStoreType, values: Readonly<Record<string, unknown>>, section: string): string | null {
  if (type === 'swift') {
    if (values.swift_store_config_file !== null) {
      const inline = ['swift_store_auth_address', 'swift_store_user', 'swift_store_key'].filter((n) => values[n] !== null);
      if (inline.length > 0) {
        return `[${section}] swift_store_config_file and ${inline.join(', ')} are exclusive: the credentials come from one place`;
      }
      return null;
    }
    const missing = ['swift_store_auth_address', 'swift_store_user', 'swift_store_key'].filter((n) => values[n] === null);
    if (missing.length > 0) {
      return `[${section}] ${missing.join(', ')} must be set for the swift store (or swift_store_config_file)`;
    }
    const user = values.swift_store_user as string;
    if (!user.includes(':')) return `[${section}] swift_store_user must be project:user (Keystone) or account:user (tempauth)`;
  }
  if (type === 's3') {
    const missing = ['s3_store_host', 's3_store_access_key', 's3_store_secret_key', 's3_store_bucket'].filter((n) => values[n] === null);
    if (missing.length > 0) return `[${section}] ${missing.join(', ')} must be set for the s3 store`;
  }
  return null;
}
