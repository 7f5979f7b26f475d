/**
 * The JSON schema documents served under /v2/schemas/*.
 *
 * These are API data, not code: clients (python-glanceclient, openstacksdk) download them and
 * build their argument parsers and validation from them, so they must be byte-identical to
 * what Glance 25.1.0 serves once `JSON.stringify`-ed — including key order, which is why every
 * document is written out literally in Glance's order instead of being assembled from
 * shared fragments that might reorder keys.
 *
 * The image schema is also what request bodies are validated against (see
 * image-validation.ts), exactly as Glance validates against the same document it serves.
 */
import { IMAGE_STATUSES, VISIBILITIES } from './image.js';

/** A JSON value as the schema documents hold it. */
export type JsonValue = null | boolean | number | string | readonly JsonValue[] | JsonObject;
export interface JsonObject {
  readonly [key: string]: JsonValue;
}

/** The format lists of glance-api.conf `[image_format]`, which become the schema enums. */
export interface FormatOptions {
  readonly diskFormats: readonly string[];
  readonly containerFormats: readonly string[];
}

/** Glance's default `[image_format] disk_formats`. */
export const DEFAULT_DISK_FORMATS: readonly string[] = Object.freeze([
  'ami',
  'ari',
  'aki',
  'vhd',
  'vhdx',
  'vmdk',
  'raw',
  'qcow2',
  'vdi',
  'iso',
  'ploop',
]);

/** Glance's default `[image_format] container_formats`. */
export const DEFAULT_CONTAINER_FORMATS: readonly string[] = Object.freeze([
  'ami',
  'ari',
  'aki',
  'bare',
  'ovf',
  'ova',
  'docker',
  'compressed',
]);

const UUID_PATTERN =
  '^([0-9a-fA-F]){8}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){12}$';

/** The image properties in Glance's order (`get_base_properties()` then schema-image.json). */
function imageProperties(opts: FormatOptions): JsonObject {
  return {
    id: {
      type: 'string',
      description: 'An identifier for the image',
      pattern: UUID_PATTERN,
    },
    name: {
      type: ['null', 'string'],
      description: 'Descriptive name for the image',
      maxLength: 255,
    },
    status: {
      type: 'string',
      readOnly: true,
      description: 'Status of the image',
      // The domain's lists are in Glance's schema order.
      enum: [...IMAGE_STATUSES],
    },
    visibility: {
      type: 'string',
      description: 'Scope of image accessibility',
      enum: [...VISIBILITIES],
    },
    protected: {
      type: 'boolean',
      description: 'If true, image will not be deletable.',
    },
    os_hidden: {
      type: 'boolean',
      description: 'If true, image will not appear in default image list response.',
    },
    checksum: {
      type: ['null', 'string'],
      readOnly: true,
      description: 'md5 hash of image contents.',
      maxLength: 32,
    },
    os_hash_algo: {
      type: ['null', 'string'],
      readOnly: true,
      description: 'Algorithm to calculate the os_hash_value',
      maxLength: 64,
    },
    os_hash_value: {
      type: ['null', 'string'],
      readOnly: true,
      description:
        'Hexdigest of the image contents using the algorithm specified by the os_hash_algo',
      maxLength: 128,
    },
    owner: {
      type: ['null', 'string'],
      description: 'Owner of the image',
      maxLength: 255,
    },
    size: {
      type: ['null', 'integer'],
      readOnly: true,
      description: 'Size of image file in bytes',
    },
    virtual_size: {
      type: ['null', 'integer'],
      readOnly: true,
      description: 'Virtual size of image in bytes',
    },
    // Glance prepends None to the configured list so that null is a valid value.
    container_format: {
      type: ['null', 'string'],
      description: 'Format of the container',
      enum: [null, ...opts.containerFormats],
    },
    disk_format: {
      type: ['null', 'string'],
      description: 'Format of the disk',
      enum: [null, ...opts.diskFormats],
    },
    created_at: {
      type: 'string',
      readOnly: true,
      description: 'Date and time of image registration',
    },
    updated_at: {
      type: 'string',
      readOnly: true,
      description: 'Date and time of the last image modification',
    },
    tags: {
      type: 'array',
      description: 'List of strings related to the image',
      items: {
        type: 'string',
        maxLength: 255,
      },
    },
    direct_url: {
      type: 'string',
      readOnly: true,
      description: 'URL to access the image file kept in external store',
    },
    min_ram: {
      type: 'integer',
      description: 'Amount of ram (in MB) required to boot image.',
    },
    min_disk: {
      type: 'integer',
      description: 'Amount of disk space (in GB) required to boot image.',
    },
    self: {
      type: 'string',
      readOnly: true,
      description: 'An image self url',
    },
    file: {
      type: 'string',
      readOnly: true,
      description: 'An image file url',
    },
    // Present even without multiple stores: Glance's base properties always include it.
    stores: {
      type: 'string',
      readOnly: true,
      description:
        'Store in which image data resides.  Only present when the operator has enabled multiple stores.  May be a comma-separated list of store identifiers.',
    },
    schema: {
      type: 'string',
      readOnly: true,
      description: 'An image schema url',
    },
    locations: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          url: {
            type: 'string',
            maxLength: 255,
          },
          metadata: {
            type: 'object',
          },
          validation_data: {
            description:
              "Values to be used to populate the corresponding image properties. If the image status is not 'queued', values must exactly match those already contained in the image properties.",
            type: 'object',
            writeOnly: true,
            additionalProperties: false,
            properties: {
              checksum: {
                type: 'string',
                minLength: 32,
                maxLength: 32,
              },
              os_hash_algo: {
                type: 'string',
                maxLength: 64,
              },
              os_hash_value: {
                type: 'string',
                maxLength: 128,
              },
            },
            required: ['os_hash_algo', 'os_hash_value'],
          },
        },
        required: ['url', 'metadata'],
      },
      description: 'A set of URLs to access the image file kept in external store',
    },
    // The custom properties Glance ships in /etc/glance/schema-image.json; Glance marks each
    // merged custom property with is_base: false.
    kernel_id: {
      type: ['null', 'string'],
      pattern: UUID_PATTERN,
      description:
        'ID of image stored in Glance that should be used as the kernel when booting an AMI-style image.',
      is_base: false,
    },
    ramdisk_id: {
      type: ['null', 'string'],
      pattern: UUID_PATTERN,
      description:
        'ID of image stored in Glance that should be used as the ramdisk when booting an AMI-style image.',
      is_base: false,
    },
    instance_uuid: {
      type: 'string',
      description:
        'Metadata which can be used to record which instance this image is associated with. (Informational only, does not create an instance snapshot.)',
      is_base: false,
    },
    architecture: {
      description:
        'Operating system architecture as specified in https://docs.openstack.org/python-glanceclient/latest/cli/property-keys.html',
      type: 'string',
      is_base: false,
    },
    os_distro: {
      description:
        'Common name of operating system distribution as specified in https://docs.openstack.org/python-glanceclient/latest/cli/property-keys.html',
      type: 'string',
      is_base: false,
    },
    os_version: {
      description: 'Operating system version as specified by the distributor.',
      type: 'string',
      is_base: false,
    },
    description: {
      description: 'A human-readable string describing this image.',
      type: 'string',
      is_base: false,
    },
    cinder_encryption_key_id: {
      description:
        'Identifier in the OpenStack Key Management Service for the encryption key for the Block Storage Service to use when mounting a volume created from this image',
      type: 'string',
      is_base: false,
    },
    cinder_encryption_key_deletion_policy: {
      description:
        "States the condition under which the Image Service will delete the object associated with the 'cinder_encryption_key_id' image property.  If this property is missing, the Image Service will take no action",
      type: 'string',
      enum: ['on_image_deletion', 'do_not_delete'],
      is_base: false,
    },
  };
}

/**
 * The image schema (GET /v2/schemas/image), which is also the schema request bodies are
 * validated against. Glance serves the "permissive" form: extra properties must be strings.
 *
 * @param opts the configured disk and container formats; they become the format enums
 *   (with a leading null). Pass DEFAULT_DISK_FORMATS / DEFAULT_CONTAINER_FORMATS for
 *   Glance's defaults.
 * @returns a fresh document each call; callers may not share or mutate it.
 */
export function imageSchema(opts: FormatOptions): JsonObject {
  return {
    name: 'image',
    properties: imageProperties(opts),
    additionalProperties: { type: 'string' },
    links: [
      { rel: 'self', href: '{self}' },
      { rel: 'enclosure', href: '{file}' },
      { rel: 'describedby', href: '{schema}' },
    ],
  };
}

/**
 * The image collection schema (GET /v2/schemas/images): the full image schema as `items`
 * plus the paging links.
 */
export function imagesSchema(opts: FormatOptions): JsonObject {
  return {
    name: 'images',
    properties: {
      images: { type: 'array', items: imageSchema(opts) },
      first: { type: 'string' },
      next: { type: 'string' },
      schema: { type: 'string' },
    },
    links: [
      { rel: 'first', href: '{first}' },
      { rel: 'next', href: '{next}' },
      { rel: 'describedby', href: '{schema}' },
    ],
  };
}

function memberProperties(): JsonObject {
  return {
    member_id: {
      type: 'string',
      description: 'An identifier for the image member (tenantId)',
    },
    image_id: {
      type: 'string',
      description: 'An identifier for the image',
      pattern: UUID_PATTERN,
    },
    created_at: {
      type: 'string',
      description: 'Date and time of image member creation',
    },
    updated_at: {
      type: 'string',
      description: 'Date and time of last modification of image member',
    },
    status: {
      type: 'string',
      description: 'The status of this image member',
      enum: ['pending', 'accepted', 'rejected'],
    },
    schema: {
      readOnly: true,
      type: 'string',
    },
  };
}

/** GET /v2/schemas/member: Glance serves the "minimal" form (no additionalProperties, no links). */
export function memberSchema(): JsonObject {
  return { name: 'member', properties: memberProperties() };
}

/** GET /v2/schemas/members (minimal collection form: only the describedby link). */
export function membersSchema(): JsonObject {
  return {
    name: 'members',
    properties: {
      members: { type: 'array', items: memberSchema() },
      schema: { type: 'string' },
    },
    links: [{ rel: 'describedby', href: '{schema}' }],
  };
}

/**
 * The task properties in Glance's order. The collection form leaves out the bulky
 * `input`, `result` and `message` (Glance's "partial" task schema).
 */
function taskProperties(partial: boolean): JsonObject {
  const id: JsonObject = {
    description: 'An identifier for the task',
    pattern: UUID_PATTERN,
    type: 'string',
  };
  const type: JsonObject = {
    description: 'The type of task represented by this content',
    enum: ['import', 'api_image_import'],
    type: 'string',
  };
  const status: JsonObject = {
    description: 'The current status of this task',
    enum: ['pending', 'processing', 'success', 'failure'],
    type: 'string',
  };
  const full: JsonObject = partial
    ? {}
    : {
        input: {
          description: 'The parameters required by task, JSON blob',
          type: ['null', 'object'],
        },
        result: {
          description: 'The result of current task, JSON blob',
          type: ['null', 'object'],
        },
      };
  const message: JsonObject = partial
    ? {}
    : {
        message: {
          description:
            'Human-readable informative message only included when appropriate (usually on failure)',
          type: 'string',
        },
      };
  return {
    id,
    type,
    status,
    ...full,
    owner: {
      description: 'An identifier for the owner of this task',
      type: 'string',
    },
    ...message,
    image_id: {
      description: 'Image associated with the task',
      type: 'string',
    },
    request_id: {
      description: 'Human-readable informative request-id',
      type: 'string',
    },
    user_id: {
      description: 'User associated with the task',
      type: 'string',
    },
    expires_at: {
      description: 'Datetime when this resource would be subject to removal',
      type: ['null', 'string'],
    },
    created_at: {
      description: 'Datetime when this resource was created',
      type: 'string',
    },
    updated_at: {
      description: 'Datetime when this resource was updated',
      type: 'string',
    },
    self: {
      readOnly: true,
      type: 'string',
    },
    schema: {
      readOnly: true,
      type: 'string',
    },
  };
}

/** GET /v2/schemas/task (minimal form). */
export function taskSchema(): JsonObject {
  return { name: 'task', properties: taskProperties(false) };
}

/** GET /v2/schemas/tasks (minimal collection form over the partial task schema). */
export function tasksSchema(): JsonObject {
  return {
    name: 'tasks',
    properties: {
      tasks: { type: 'array', items: { name: 'task', properties: taskProperties(true) } },
      schema: { type: 'string' },
    },
    links: [{ rel: 'describedby', href: '{schema}' }],
  };
}
