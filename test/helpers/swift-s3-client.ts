/** A raw S3 client for a test Swift's s3api (test/helpers/swift-server.ts), for tests and benches. */
import { S3Client } from '@aws-sdk/client-s3';
import type { SwiftServer } from './swift-server.js';

/**
 * Path style, region us-east-1, the main account's keys (or `accessKey`, e.g. the colon-free
 * alias). The SDK's default checksums are off: Swift's s3api refuses the aws-chunked bodies
 * they send.
 */
export function swiftS3Client(swift: SwiftServer, accessKey = swift.s3AccessKey): S3Client {
  return new S3Client({
    endpoint: swift.s3Endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: accessKey, secretAccessKey: swift.s3SecretKey },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}
