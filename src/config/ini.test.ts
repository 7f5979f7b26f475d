import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IniSyntaxError, parseIni, parseIniEntries } from './ini.js';

const asObject = (sections: Map<string, Map<string, string>>): Record<string, Record<string, string>> =>
  Object.fromEntries([...sections].map(([name, options]) => [name, Object.fromEntries(options)]));

test('parses sections, both separators, comments and blank lines', () => {
  const text = [
    '# a comment',
    '; another comment',
    '',
    '[DEFAULT]',
    'bind_host = 0.0.0.0',
    'bind_port: 9393',
    'url = http://example.com:80/x',
    'path: a=b',
    '',
    '[glance_store]',
    '  # indented comment outside a value',
    'Stores=file , http  ',
    'empty =',
  ].join('\n');
  assert.deepEqual(asObject(parseIni(text, 'x.conf')), {
    DEFAULT: { bind_host: '0.0.0.0', bind_port: '9393', url: 'http://example.com:80/x', path: 'a=b' },
    glance_store: { Stores: 'file , http', empty: '' },
  });
});

test('keys are case-sensitive, section names kept as written, last assignment wins', () => {
  const text = '[Glance_Store]\nkey = 1\nKEY = 2\nkey = 3\n[Glance_Store]\nother = 4\n';
  assert.deepEqual(asObject(parseIni(text, 'x.conf')), { Glance_Store: { key: '3', KEY: '2', other: '4' } });
});

test('continuation lines append to the previous value until a blank line', () => {
  const text = '[image_format]\ndisk_formats = raw,\n    qcow2,\n\tiso\n\nother = x\n';
  const sections = parseIni(text, 'x.conf');
  assert.equal(sections.get('image_format')?.get('disk_formats'), 'raw,\nqcow2,\niso');
  assert.equal(sections.get('image_format')?.get('other'), 'x');
});

test('surrounding quotes are removed once, CRLF and a BOM are tolerated', () => {
  const text = '\uFEFF[DEFAULT]\r\na = "quoted value"\r\nb = \'single\'\r\nc = "unbalanced\r\nd = "\r\n';
  assert.deepEqual(asObject(parseIni(text, 'x.conf')), {
    DEFAULT: { a: 'quoted value', b: 'single', c: '"unbalanced', d: '"' },
  });
});

test('empty sections are present', () => {
  assert.deepEqual(asObject(parseIni('[DEFAULT]\n[empty]\n', 'x.conf')), { DEFAULT: {}, empty: {} });
});

test('entries carry line numbers', () => {
  const entries = parseIniEntries('# c\n[DEFAULT]\n\nworkers = 2\nlist = a,\n  b\n', 'x.conf');
  assert.deepEqual(entries, [
    { section: 'DEFAULT', key: 'workers', value: '2', line: 4 },
    { section: 'DEFAULT', key: 'list', value: 'a,\nb', line: 5 },
  ]);
});

function assertSyntaxError(text: string, line: number, pattern: RegExp): void {
  assert.throws(
    () => parseIni(text, '/etc/iris/bad.conf'),
    (error: unknown) => {
      assert.ok(error instanceof IniSyntaxError);
      assert.equal(error.file, '/etc/iris/bad.conf');
      assert.equal(error.line, line);
      assert.match(error.message, new RegExp(`^/etc/iris/bad\\.conf:${line}: `));
      assert.match(error.message, pattern);
      return true;
    },
  );
}

test('malformed lines are errors naming file and line', () => {
  assertSyntaxError('[DEFAULT]\nok = 1\nnot an assignment\n', 3, /expected "key = value"/);
  assertSyntaxError('# header\nworkers = 2\n', 2, /before any \[section\]/);
  assertSyntaxError('[DEFAULT\n', 1, /closing "\]"/);
  assertSyntaxError('[DEFAULT]\n[ ]\n', 2, /empty section name/);
  assertSyntaxError('[DEFAULT]\n= value\n', 2, /empty option name/);
  assertSyntaxError('[DEFAULT]\n\n   stray\n', 3, /indented line/);
  assertSyntaxError('[DEFAULT]\na = 1\n# comment ends the value\n  stray\n', 4, /indented line/);
});
