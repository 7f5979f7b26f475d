/**
 * `iris-manage key …`: the API keys of flavor apikey.
 *
 *   key create --project P --user U [--roles r1,r2]   add a key; prints its secret, once
 *   key list                                          ids and identities; never secrets
 *   key revoke ID                                     remove a key (the server stops accepting it within a second)
 *
 * The key file is `[iris_auth] api_key_file`, from the same configuration iris-api reads.
 */
import type { Command } from 'commander';
import { createApiKey, readApiKeys, revokeApiKey } from '../auth/api-key-store.js';

export interface KeyCommandIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
}

/** Adds the `key` command group to `program`; `keyFile` resolves the file from the configuration. */
export function addKeyCommands(program: Command, io: KeyCommandIo, keyFile: () => string): void {
  const key = program.command('key').description('API keys for [paste_deploy] flavor = apikey').exitOverride();

  key
    .command('create')
    .description('create an API key and print its secret (shown only this once)')
    .requiredOption('--project <id>', 'project the key acts in (owner of what it creates)')
    .requiredOption('--user <id>', 'user id the key acts as')
    .option('--roles <list>', 'comma-separated roles; admin makes the key an admin', 'member,reader')
    .exitOverride()
    .action((opts: { project: string; user: string; roles: string }) => {
      const file = keyFile();
      const { record, secret } = createApiKey(file, {
        project: opts.project,
        user: opts.user,
        roles: opts.roles.split(','),
      });
      io.stdout(
        table([
          ['id', record.id],
          ['project', record.project],
          ['user', record.user],
          ['roles', record.roles.join(',')],
          ['secret', secret],
        ]),
      );
      io.stderr(`The secret is shown only now: ${file} keeps its SHA-256, not the secret.\n`);
    });

  key
    .command('list')
    .description('list API keys (never their secrets)')
    .exitOverride()
    .action(() => {
      const keys = readApiKeys(keyFile());
      io.stdout(
        table([
          ['id', 'project', 'user', 'roles', 'created_at'],
          ...keys.map((k) => [k.id, k.project, k.user, k.roles.join(','), k.created_at]),
        ]),
      );
    });

  key
    .command('revoke')
    .description('revoke (delete) an API key')
    .argument('<id>', 'key id, as key list shows it')
    .exitOverride()
    .action((id: string) => {
      if (!revokeApiKey(keyFile(), id)) throw new Error(`no API key with id ${JSON.stringify(id)}`);
      io.stdout(`revoked ${id}\n`);
    });
}

/** Rows as left-aligned columns separated by two spaces. */
function table(rows: readonly (readonly string[])[]): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ')).join('\n') + '\n';
}
