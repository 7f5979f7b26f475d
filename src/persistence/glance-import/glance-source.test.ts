import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GlanceUrlError, parseGlanceUrl } from './glance-source.js';

test("the URLs of Glance's install guides and oslo.db", () => {
  assert.deepEqual(parseGlanceUrl('mysql+pymysql://glance:GLANCE%40DBPASS@controller/glance?charset=utf8mb4', '/'), {
    engine: 'mysql',
    display: 'mysql+pymysql://glance:***@controller/glance?charset=utf8mb4',
    host: 'controller',
    user: 'glance',
    password: 'GLANCE@DBPASS',
    database: 'glance',
  });
  assert.deepEqual(parseGlanceUrl('mysql://glance:pw@/glance?unix_socket=/run/mysqld/mysqld.sock', '/'), {
    engine: 'mysql',
    display: 'mysql://glance:***@/glance?unix_socket=/run/mysqld/mysqld.sock',
    user: 'glance',
    password: 'pw',
    database: 'glance',
    socket: '/run/mysqld/mysqld.sock',
  });
  assert.deepEqual(parseGlanceUrl('postgresql+psycopg2://glance:pw@[::1]:5433/glance', '/'), {
    engine: 'postgresql',
    display: 'postgresql+psycopg2://glance:***@[::1]:5433/glance',
    host: '::1',
    port: 5433,
    user: 'glance',
    password: 'pw',
    database: 'glance',
  });
  assert.deepEqual(parseGlanceUrl('postgresql://glance@/glance?host=/var/run/postgresql', '/'), {
    engine: 'postgresql',
    display: 'postgresql://glance@/glance?host=/var/run/postgresql',
    user: 'glance',
    database: 'glance',
    socket: '/var/run/postgresql',
  });
  assert.deepEqual(parseGlanceUrl('sqlite:///glance.sqlite', '/var/lib/glance'), {
    engine: 'sqlite',
    display: 'sqlite:///glance.sqlite',
    path: '/var/lib/glance/glance.sqlite',
  });
  assert.equal(parseGlanceUrl('sqlite:////abs/g.sqlite', '/x').path, '/abs/g.sqlite');
});

test('URLs the importer cannot use are usage errors with the reason', () => {
  assert.throws(() => parseGlanceUrl('/var/lib/glance/glance.sqlite', '/'), GlanceUrlError);
  assert.throws(() => parseGlanceUrl('oracle://u:p@h/db', '/'), /database "oracle" is not one Glance runs on/);
  assert.throws(() => parseGlanceUrl('mysql://u:secret@h', '/'), (err: Error) => err instanceof GlanceUrlError && /names no database/.test(err.message) && !err.message.includes('secret'));
  assert.throws(() => parseGlanceUrl('sqlite://', '/'), /in-memory/);
});
