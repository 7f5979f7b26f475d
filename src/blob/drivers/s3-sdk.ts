/**
 * The AWS SDK's S3 client, loaded when an S3 store is first used rather than at start: it holds
 * ~10 MiB of memory in every process, S3 store or not (bench/RESULTS.md, session 9).
 */
export type S3Sdk = typeof import('@aws-sdk/client-s3');

let sdk: Promise<S3Sdk> | undefined;

/** @example const { S3Client, PutObjectCommand } = await loadS3Sdk(); */
export function loadS3Sdk(): Promise<S3Sdk> {
  sdk ??= import('@aws-sdk/client-s3');
  return sdk;
}
