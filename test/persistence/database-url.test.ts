/** The SQLAlchemy URLs Glance operators write, as the seam reads them. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseDatabaseUrl, redactDatabaseUrl } from '../../src/persistence/database-url.js';

const CWD = '/srv/iris';

test('sqlite: relative, absolute, with a driver', () => {
  assert.deepEqual(parseDatabaseUrl('sqlite:///data/iris.db', CWD), { engine: 'sqlite', path: '/srv/iris/data/iris.db' });
  assert.deepEqual(parseDatabaseUrl('sqlite:////var/lib/iris.db', CWD), { engine: 'sqlite', path: '/var/lib/iris.db' });
  assert.deepEqual(parseDatabaseUrl('sqlite+pysqlite:////x.db', CWD), { engine: 'sqlite', path: '/x.db' });
  assert.throws(() => parseDatabaseUrl('sqlite://', CWD), /in-memory/);
});

test('the install guide form: mysql+pymysql with host, no port, charset', () => {
  assert.deepEqual(parseDatabaseUrl('mysql+pymysql://glance:GLANCE_DBPASS@controller/glance?charset=utf8mb4', CWD), {
    engine: 'mysql',
    host: 'controller',
    port: undefined,
    socket: undefined,
    user: 'glance',
    password: 'GLANCE_DBPASS',
    database: 'glance',
    sslmode: undefined,
    applicationName: undefined,
    connectTimeout: undefined,
  });
});

test('ports, IPv6 hosts, percent-encoded passwords, every scheme spelling', () => {
  const pg = parseDatabaseUrl('postgresql+psycopg2://u:p%40ss%2Fw@[::1]:5433/glance', CWD);
  assert.ok(pg.engine === 'postgresql');
  assert.equal(pg.host, '::1');
  assert.equal(pg.port, 5433);
  assert.equal(pg.password, 'p@ss/w');
  for (const url of ['postgres://u@h/d', 'postgresql://u@h/d']) assert.equal(parseDatabaseUrl(url, CWD).engine, 'postgresql');
  for (const url of ['mysql://u@h/d', 'mariadb://u@h/d', 'mysql+mysqldb://u@h/d']) assert.equal(parseDatabaseUrl(url, CWD).engine, 'mysql');
});

test('unix sockets: ?host= for PostgreSQL, ?unix_socket= for MySQL', () => {
  const pg = parseDatabaseUrl('postgresql://glance:pw@/glance?host=/var/run/postgresql', CWD);
  assert.ok(pg.engine === 'postgresql');
  assert.equal(pg.socket, '/var/run/postgresql');
  assert.equal(pg.host, undefined);
  const pgNoUser = parseDatabaseUrl('postgresql:///glance?host=/tmp&port=5499', CWD);
  assert.ok(pgNoUser.engine === 'postgresql');
  assert.equal(pgNoUser.user, undefined);
  assert.equal(pgNoUser.port, 5499);
  const my = parseDatabaseUrl('mysql+pymysql://glance:pw@/glance?unix_socket=/run/mysqld/mysqld.sock&charset=utf8', CWD);
  assert.ok(my.engine === 'mysql');
  assert.equal(my.socket, '/run/mysqld/mysqld.sock');
});

test('refusals say why, never echoing the password', () => {
  assert.throws(() => parseDatabaseUrl('oracle://u:p@h/d', CWD), /"oracle" is not supported/);
  assert.throws(() => parseDatabaseUrl('postgresql://u:secret@h', CWD), (e: Error) => /names no database/.test(e.message) && !e.message.includes('secret'));
  assert.throws(() => parseDatabaseUrl('mysql://u:secret@h/d?charset=latin1', CWD), /charset latin1/);
  assert.throws(() => parseDatabaseUrl('mysql://u:secret@h/d?ssl_ca=/x', CWD), /query parameter ssl_ca is not supported/);
  assert.throws(() => parseDatabaseUrl('postgresql://u@h:99999/d', CWD), /port 99999/);
  assert.throws(() => parseDatabaseUrl('mysql://u@h/d?unix_socket=relative.sock', CWD), /absolute/);
});

test('redactDatabaseUrl hides the password only', () => {
  assert.equal(redactDatabaseUrl('mysql+pymysql://glance:s3cr@t@controller/glance?charset=utf8mb4'), 'mysql+pymysql://glance:***@controller/glance?charset=utf8mb4');
  assert.equal(redactDatabaseUrl('postgresql://glance@db/glance'), 'postgresql://glance@db/glance');
  assert.equal(redactDatabaseUrl('sqlite:////x.db'), 'sqlite:////x.db');
});
