import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GlanceUrlError, parseGlanceUrl } from './glance-source.js';

test("the URLs of Glance's install guides parse as Iris's own; the password never shows", () => {
  const mysql = parseGlanceUrl('mysql+pymysql://glance:GLANCE%40DBPASS@controller/glance?charset=utf8mb4', '/');
  assert.equal(mysql.display, 'mysql+pymysql://glance:***@controller/glance?charset=utf8mb4');
  assert.deepEqual(
    mysql.target.engine === 'mysql' && [mysql.target.host, mysql.target.user, mysql.target.password, mysql.target.database],
    ['controller', 'glance', 'GLANCE@DBPASS', 'glance'],
  );
  const pg = parseGlanceUrl('postgresql+psycopg2://glance:pw@db:5433/glance', '/');
  assert.deepEqual(pg.target.engine === 'postgresql' && [pg.target.host, pg.target.port, pg.target.database], ['db', 5433, 'glance']);
  assert.deepEqual(parseGlanceUrl('sqlite:///glance.sqlite', '/var/lib/glance').target, { engine: 'sqlite', path: '/var/lib/glance/glance.sqlite' });
});

test('URLs the importer cannot use are usage errors with the reason', () => {
  assert.throws(() => parseGlanceUrl('/var/lib/glance/glance.sqlite', '/'), GlanceUrlError);
  assert.throws(() => parseGlanceUrl('oracle://u:p@h/db', '/'), /database "oracle" is not supported/);
  assert.throws(() => parseGlanceUrl('mysql://u:secret@h/db?bogus=1', '/'), (err: Error) => err instanceof GlanceUrlError && !err.message.includes('secret'));
  assert.throws(() => parseGlanceUrl('sqlite://', '/'), /in-memory/);
});
