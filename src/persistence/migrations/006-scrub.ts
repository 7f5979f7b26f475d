/**
 * 006-scrub: the scrubber's state, per location row, so a scrubber killed mid-run leaves
 * nothing to guess and several scrubbers on one database never delete the same data twice.
 *
 * - `scrub_owner` / `scrub_until`: the scrubber process (`<node>-<pid>`) deleting this
 *   location's data right now, and when its claim runs out (epoch milliseconds). Taken with a
 *   compare-and-swap; NULL when nobody is at it.
 * - `scrubbed_at`: when the data was found deleted (by the scrubber, or by an immediate
 *   delete that succeeded). A location row marked deleted without it may still have bytes in
 *   its store: the scrubber's orphan sweep deletes them and sets it.
 *
 * Rows from before this migration have no `scrubbed_at`: the first sweep tries each deleted
 * location once (deleting missing data is not an error) and records it.
 *
 * A migration is a frozen snapshot: it imports nothing from the domain.
 */
import type { Kysely, Migration } from 'kysely';
import type { SqlEngine } from '../sql-engine.js';

export const migration006Scrub = (engine: SqlEngine): Migration => ({
  async up(db: Kysely<any>): Promise<void> {
    const { string, bigint } = engine.types;
    // One column per statement: SQLite's ALTER TABLE adds one at a time.
    await db.schema.alterTable('image_locations').addColumn('scrub_owner', string(255)).execute();
    await db.schema.alterTable('image_locations').addColumn('scrub_until', bigint).execute();
    await db.schema.alterTable('image_locations').addColumn('scrubbed_at', bigint).execute();
    // The scrubber's scan: locations by status, those not yet scrubbed.
    await db.schema.createIndex('ix_image_locations_scrub').on('image_locations').columns(['status', 'scrubbed_at']).execute();
  },

  async down(db: Kysely<any>): Promise<void> {
    await db.schema.dropIndex('ix_image_locations_scrub').on('image_locations').execute();
    await db.schema.alterTable('image_locations').dropColumn('scrubbed_at').execute();
    await db.schema.alterTable('image_locations').dropColumn('scrub_until').execute();
    await db.schema.alterTable('image_locations').dropColumn('scrub_owner').execute();
  },
});
