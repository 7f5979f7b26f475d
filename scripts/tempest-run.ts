/**
 * Runs Debian tempest 33's image tests against a server already in a test Keystone's catalog:
 * writes a tempest.conf for that Keystone (dynamic credentials, only Glance available) into a
 * temp dir and runs the given tests under unittest (Debian's tempest has no stestr). Used by
 * scripts/tempest-metadefs.ts and scripts/tempest-glance-download.ts.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { startKeystone } from '../test/helpers/keystone.js';

type Keystone = Awaited<ReturnType<typeof startKeystone>>;
type Cloud = Awaited<ReturnType<Keystone['populate']>>;

/** Runs `tests`; `imageLines` are the tempest.conf lines from `[image]` on. Returns the exit status. */
export function runTempest(keystone: Keystone, cloud: Cloud, imageLines: readonly string[], tests: readonly string[]): number {
  const dir = mkdtempSync(join(tmpdir(), 'iris-tempest-'));
  writeFileSync(
    join(dir, 'tempest.conf'),
    [
      '[DEFAULT]', `log_dir = ${dir}`, 'log_file = tempest.log',
      '[auth]', `admin_username = ${cloud.users.admin.name}`, `admin_password = ${cloud.users.admin.password}`,
      `admin_project_name = ${cloud.projects.admin.name}`, 'admin_domain_name = Default', 'use_dynamic_credentials = true',
      '[identity]', `uri_v3 = ${keystone.url}`, 'auth_version = v3', 'region = RegionOne',
      '[identity-feature-enabled]', 'api_v2 = false',
      '[service_available]', 'glance = true', 'nova = false', 'cinder = false', 'neutron = false', 'swift = false',
      ...imageLines,
      '',
    ].join('\n'),
  );
  const run = spawnSync('/usr/bin/python3', ['-m', 'unittest', '-v', ...tests], {
    cwd: dir,
    env: { ...process.env, TEMPEST_CONFIG_DIR: dir, TEMPEST_CONFIG: 'tempest.conf' },
    stdio: 'inherit',
  });
  return run.status ?? 1;
}
