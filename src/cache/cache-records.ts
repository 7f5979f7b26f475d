/**
 * The image cache's records: what the cache module needs from the shared database (Glance's
 * `centralized_db` driver). Every call names the node; a node only reads and writes its own.
 * Implemented in src/persistence/image-cache-repository.ts.
 */

/** One complete, verified cache file of a node. */
export interface CacheRecord {
  readonly imageId: string;
  readonly size: number;
  /** The image's md5 and multihash when the file was written (null: the image had none). */
  readonly checksum: string | null;
  readonly osHashValue: string | null;
  /** CRC-32 of the file (zlib's), checked by whole reads from the cache; null = not checked. */
  readonly crc32: number | null;
  readonly hits: number;
  /** Epoch milliseconds. */
  readonly lastAccessed: number;
  readonly lastModified: number;
}

/**
 * @example
 *   await records.addCached(node, { imageId, size, checksum, osHashValue, hits: 0, lastAccessed: now, lastModified: now });
 *   const lru = await records.leastRecentlyUsed(node, 10);
 */
export interface CacheRecords {
  /** The node's cached images, by image id. */
  listCached(node: string): Promise<CacheRecord[]>;
  getCached(node: string, imageId: string): Promise<CacheRecord | null>;
  /** Records a cache file (replacing any record of the same image on the node). */
  addCached(node: string, record: CacheRecord): Promise<void>;
  /** One more hit, and the access time the pruner orders by (one UPDATE: cheap enough per download). */
  touch(node: string, imageId: string, at: number): Promise<void>;
  /** Drops the record; false when there was none. */
  removeCached(node: string, imageId: string): Promise<boolean>;
  /** Drops every record of the node; returns how many. */
  removeAllCached(node: string): Promise<number>;
  /** Sum of the node's cached sizes. */
  totalSize(node: string): Promise<number>;
  /** Up to `limit` records, least recently accessed first. */
  leastRecentlyUsed(node: string, limit: number): Promise<CacheRecord[]>;
  /**
   * Records whose image is gone, no longer active, or whose data changed (its checksum or
   * multihash differs from the one the file was written with): what the cleaner drops.
   */
  invalidCached(node: string): Promise<string[]>;
  /** Queues an image for the node's prefetcher; false when it already was. */
  queue(node: string, imageId: string, at: number): Promise<boolean>;
  /** The node's queue, oldest first. */
  listQueued(node: string): Promise<string[]>;
  /** Removes an image from the node's queue; false when it was not there. */
  dequeue(node: string, imageId: string): Promise<boolean>;
  /** Empties the node's queue; returns how many were queued. */
  clearQueue(node: string): Promise<number>;
}
