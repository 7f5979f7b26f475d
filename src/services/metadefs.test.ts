import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { RequestContext } from '../domain/context.js';
import { openDatabase } from '../persistence/database.js';
import { createMetadefRepository } from '../persistence/metadef-repository.js';
import { migrateToLatest } from '../persistence/migrator.js';
import { effectiveRuleTexts } from '../policy/glance-defaults.js';
import { createMetadefPolicy } from '../policy/metadef-policy.js';
import { compileRuleSet } from '../policy/rule-set.js';
import { createMetadefService } from './metadefs.js';

const admin: RequestContext = { projectId: 'p-admin', userId: 'u', roles: ['admin'], isAdmin: true, requestId: 'r' };

test("Glance's metadef_* notifications, with their payloads", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'iris-metadef-notify-'));
  const database = openDatabase({ sqlitePath: join(dir, 'iris.sqlite') });
  try {
    await migrateToLatest(database.db);
    const events: [string, Record<string, unknown>][] = [];
    const now = new Date('2024-05-01T10:00:00.500Z');
    const service = createMetadefService({
      repo: createMetadefRepository(database.db),
      policy: createMetadefPolicy({ rules: compileRuleSet(effectiveRuleTexts({ enforceNewDefaults: false })) }),
      clock: { now: () => now },
      notifier: { emit: (type, payload) => events.push([type, typeof payload === 'string' ? { text: payload } : payload]) },
      limits: { limitParamDefault: 25, apiLimitMax: 1000 },
    });
    await service.createNamespace(admin, { namespace: 'n', resource_type_associations: [{ name: 'OS::Glance::Image', prefix: 'p_' }] });
    await service.createProperty(admin, 'n', { name: 'x', title: 'X', type: 'string', enum: ['a'] });
    await service.createTags(admin, 'n', { tags: [{ name: 't1' }, { name: 't2' }] }, false);
    await service.updateTag(admin, 'n', 't1', { name: 't3' });
    await service.deleteNamespace(admin, 'n');
    assert.deepEqual(events.map(([type]) => type), [
      'metadef_namespace.create',
      'metadef_resource_type.create',
      'metadef_property.create',
      'metadef_tag.create',
      'metadef_tag.create',
      'metadef_tag.update',
      'metadef_namespace.delete',
    ]);
    assert.deepEqual(events[0]![1], {
      namespace: 'n', namespace_old: 'n', display_name: null, protected: false, visibility: 'private', owner: 'p-admin',
      description: null, created_at: '2024-05-01T10:00:00Z', updated_at: '2024-05-01T10:00:00Z', deleted: false, deleted_at: null,
    });
    assert.equal(events[2]![1].enum !== undefined && (events[2]![1].enum as string[])[0], 'a');
    assert.equal(events[5]![1].name_old, 't1');
    assert.equal(events[5]![1].name, 't3');
    assert.deepEqual([events[6]![1].deleted, events[6]![1].deleted_at], [true, '2024-05-01T10:00:00Z']);
  } finally {
    await database.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
