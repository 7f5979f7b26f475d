/**
 * How the S3 store reaches its service, decided from Glance's options the way glance_store 4.1
 * (with botocore 1.29) decides it: the endpoint and protocol from `s3_store_host`, the region from
 * the AWS host name (or `s3_store_region_name`), and path or virtual-host addressing from
 * `s3_store_bucket_url_format`. Pure, so each rule is unit-tested.
 */
import { Invalid } from '../../domain/errors.js';

export type BucketUrlFormat = 'auto' | 'path' | 'virtual';

export interface S3Endpoint {
  readonly protocol: 'http' | 'https';
  /** `host[:port][/prefix]` as it appears in locations. */
  readonly service: string;
  /** The URL the SDK talks to. */
  readonly url: string;
  /** The SigV4 signing region. */
  readonly region: string;
  /** Region for CreateBucket's LocationConstraint, or undefined to send none (Glance's rule). */
  readonly locationConstraint: string | undefined;
  readonly addressing: 'path' | 'virtual';
}

// glance_store's table of AWS S3 regional hosts. Glance only sends a LocationConstraint for these;
// every other host (s3.amazonaws.com included) is treated as an S3-compatible service.
const AWS_REGION_HOSTS: Readonly<Record<string, string>> = Object.fromEntries(
  [
    'us-east-1', 'us-east-2', 'us-west-1', 'us-west-2', 'ap-east-1', 'ap-south-1', 'ap-northeast-1',
    'ap-northeast-2', 'ap-northeast-3', 'ap-southeast-1', 'ap-southeast-2', 'ca-central-1',
    'eu-central-1', 'eu-west-1', 'eu-west-2', 'eu-west-3', 'eu-north-1', 'sa-east-1',
  ]
    .map((r): [string, string] => [`s3-${r}.amazonaws.com`, r])
    .concat([
      ['s3-cn-north-1.amazonaws.com.cn', 'cn-north-1'],
      ['s3-cn-northwest-1.amazonaws.com.cn', 'cn-northwest-1'],
    ]),
);

/** The signing region a client uses when none is known (botocore and s3api's default). */
const DEFAULT_REGION = 'us-east-1';

/**
 * Resolves the endpoint from the store's options.
 *
 * @param host `s3_store_host`: `http(s)://host[:port][/prefix]` or `host[:port]` (then http, as Glance).
 * @throws Invalid for an unusable host, format, or a bucket that virtual addressing cannot name.
 */
export function resolveS3Endpoint(opts: {
  readonly host: string;
  readonly bucket: string;
  readonly urlFormat: BucketUrlFormat;
  readonly regionName?: string | null | undefined;
}): S3Endpoint {
  const match = /^(https?):\/\//i.exec(opts.host);
  const protocol = match?.[1]?.toLowerCase() === 'https' ? 'https' : 'http';
  const service = opts.host.slice(match ? match[0].length : 0).replace(/^\/+|\/+$/g, '');
  let url: URL;
  try {
    url = new URL(`${protocol}://${service}`);
  } catch {
    throw new Invalid('s3_store_host is not a host name or URL');
  }
  if (service === '' || url.username !== '' || url.search !== '' || url.hash !== '') {
    throw new Invalid('s3_store_host is not a host name or URL');
  }
  const awsRegion = AWS_REGION_HOSTS[url.hostname.toLowerCase()];
  const region = opts.regionName || awsRegion || DEFAULT_REGION;
  return {
    protocol,
    service,
    url: `${protocol}://${service}`,
    region,
    locationConstraint: opts.regionName ? (opts.regionName === DEFAULT_REGION ? undefined : opts.regionName) : awsRegion,
    addressing: addressingStyle(opts.urlFormat, opts.bucket, awsRegion !== undefined),
  };
}

/**
 * Path or virtual-host addressing, as botocore decides it for Glance's client:
 * - `path`: always path.
 * - `virtual`: always virtual; a bucket that is not a DNS label is refused (botocore raises
 *   InvalidDNSNameError).
 * - `auto`: Glance hands botocore an explicit endpoint for every host but the AWS regional ones,
 *   and botocore then uses path style; for the AWS regional hosts, virtual when the bucket is a
 *   DNS label, else path.
 */
export function addressingStyle(format: BucketUrlFormat, bucket: string, awsRegionalHost: boolean): 'path' | 'virtual' {
  switch (format) {
    case 'path':
      return 'path';
    case 'virtual':
      if (!isDnsCompatibleBucket(bucket)) {
        throw new Invalid(`s3_store_bucket ${JSON.stringify(bucket)} cannot be addressed virtual-host style`);
      }
      return 'virtual';
    case 'auto':
      return awsRegionalHost && isDnsCompatibleBucket(bucket) ? 'virtual' : 'path';
    default:
      throw new Invalid(`s3_store_bucket_url_format must be auto, path or virtual`);
  }
}

/**
 * botocore's `check_dns_name`: 3-63 lower-case letters, digits and hyphens, starting and ending
 * with a letter or digit. Dots are refused too, as they break TLS certificates of the form `*.host`.
 */
export function isDnsCompatibleBucket(bucket: string): boolean {
  return /^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/.test(bucket);
}
