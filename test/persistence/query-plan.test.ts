/**
 * The list SQL must be served by an index in sort order: no full scan of `images`, no
 * temporary B-tree for ORDER BY, whatever the table size. Checked with EXPLAIN QUERY PLAN
 * on the exact SQL the repository runs.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CompiledQuery } from 'kysely';
import type { ListQuery, ListScope, SortDir, SortKey } from '../../src/domain/ports.js';
import { addMember, createTestDb, makeImage } from './sqlite-fixture.js';
import type { TestDb } from './sqlite-fixture.js';

const SCOPES: [string, ListScope][] = [
  ['admin', { project: 'admin-project', isAdmin: true, memberStatus: 'accepted' }],
  ['admin, no project', { project: null, isAdmin: true, memberStatus: 'accepted' }],
  ['project', { project: 'p1', isAdmin: false, memberStatus: 'accepted' }],
  ['project, visibility=all', { project: 'p1', isAdmin: false, visibility: 'all', memberStatus: 'accepted' }],
  ['project, visibility=shared', { project: 'p1', isAdmin: false, visibility: 'shared', memberStatus: 'all' }],
  ['project, visibility=public', { project: 'p1', isAdmin: false, visibility: 'public', memberStatus: 'accepted' }],
];

const SORTS: [string, { key: SortKey; dir: SortDir }[]][] = [
  ['default (created_at desc, id desc)', []],
  ['name asc', [{ key: 'name', dir: 'asc' }]],
  ['name desc', [{ key: 'name', dir: 'desc' }]],
];

interface PlanRow {
  readonly detail: string;
}

async function explain(t: TestDb, q: CompiledQuery): Promise<string[]> {
  const result = await t.db.executeQuery<PlanRow>(CompiledQuery.raw(`EXPLAIN QUERY PLAN ${q.sql}`, [...q.parameters]));
  return result.rows.map((r) => r.detail);
}

function assertIndexedPlan(plan: readonly string[], label: string): void {
  const text = plan.join('\n');
  assert.ok(!/TEMP B-TREE/.test(text), `${label}: temporary B-tree\n${text}`);
  const imageSteps = plan.filter((d) => /^(SCAN|SEARCH) images\b/.test(d));
  assert.ok(imageSteps.length > 0, `${label}: no step on images\n${text}`);
  for (const step of imageSteps) {
    assert.match(step, /^SEARCH images USING (COVERING )?INDEX ix_images_/, `${label}: not an index search\n${text}`);
  }
  assert.ok(!/\bSCAN (images|image_members|image_tags|image_properties)\b/.test(text), `${label}: full scan\n${text}`);
}

describe('EXPLAIN QUERY PLAN of list queries', () => {
  let t: TestDb;
  const ids: string[] = [];

  before(async () => {
    t = await createTestDb();
    const visibilities = ['public', 'private', 'shared', 'community'] as const;
    for (let i = 0; i < 400; i += 1) {
      const image = makeImage({
        owner: `p${i % 7}`,
        visibility: visibilities[i % 4],
        status: 'active',
        name: i % 9 === 0 ? null : `name-${i % 37}`,
        size: i % 5 === 0 ? null : i * 10,
        os_hidden: i % 50 === 0,
        tags: i % 3 === 0 ? ['x'] : [],
        properties: i % 4 === 0 ? { os_distro: 'ubuntu' } : {},
      });
      await t.repo.add(image);
      ids.push(image.id);
      if (image.visibility === 'shared' && i % 2 === 0) await addMember(t.db, image.id, 'p1', 'accepted');
    }
  });
  after(async () => {
    await t.cleanup();
  });

  const variants: [string, (base: ListQuery) => ListQuery][] = [
    ['first page', (q) => q],
    // Image 3 (community) has a name and a size; image 135 (community) has neither.
    ['after a marker with values', (q) => ({ ...q, marker: ids[3] })],
    ['after a marker with NULLs', (q) => ({ ...q, marker: ids[135] })],
    ['with filters', (q) => ({ ...q, filters: { tags: ['x'], properties: { os_distro: 'ubuntu' }, status: { eq: 'active' } } })],
  ];

  for (const analyzed of [false, true]) {
    for (const [scopeName, scope] of SCOPES) {
      for (const [sortName, sort] of SORTS) {
        for (const [variantName, variant] of variants) {
          const label = `${scopeName}, ${sortName}, ${variantName}${analyzed ? ', after ANALYZE' : ''}`;
          test(label, async () => {
            if (analyzed) await t.db.executeQuery(CompiledQuery.raw('ANALYZE'));
            const marker = variant({ scope, filters: {}, sort, limit: 25 }).marker;
            // Markers must be visible to the scope: use public/community ones for regular users.
            if (marker !== undefined && !scope.isAdmin) {
              const row = await t.repo.get(marker);
              assert.ok(row && (row.visibility === 'public' || row.visibility === 'community'));
            }
            const queries = await t.repo.compileListQuery(variant({ scope, filters: {}, sort, limit: 25 }));
            assert.ok(queries.length > 0);
            for (const q of queries) assertIndexedPlan(await explain(t, q), label);
          });
        }
      }
    }
  }
});
