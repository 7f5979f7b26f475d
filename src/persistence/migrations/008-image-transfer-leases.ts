/**
 * 008-image-transfer-leases: which process is moving an image's data (an upload in `saving`, a
 * stage in `uploading`), and until when.
 *
 * Several API nodes share the database. A node starting up used to return every `saving` image
 * to `queued`, also the uploads another live node was receiving. Now the process receiving the
 * data renews a lease on the image; start-up recovery and the periodic sweep only reset
 * transfers whose owner is a gone process of the same host, or whose lease ended.
 * `transfer_owner` is the process (`<node>-<pid>`), `transfer_expires_at` epoch milliseconds as
 * every time in the schema. Rows from before this migration have no lease.
 *
 * A migration is a frozen snapshot: it imports nothing from the domain.
 */
import type { Kysely, Migration } from 'kysely';
import type { SqlEngine } from '../sql-engine.js';

export const migration008ImageTransferLeases = (engine: SqlEngine): Migration => ({
  async up(db: Kysely<any>): Promise<void> {
    const { string, bigint } = engine.types;
    // One column per statement: SQLite's ALTER TABLE adds one at a time.
    await db.schema.alterTable('images').addColumn('transfer_owner', string(255)).execute();
    await db.schema.alterTable('images').addColumn('transfer_expires_at', bigint).execute();
  },

  async down(db: Kysely<any>): Promise<void> {
    await db.schema.alterTable('images').dropColumn('transfer_expires_at').execute();
    await db.schema.alterTable('images').dropColumn('transfer_owner').execute();
  },
});
