"""Prepares a test Keystone's directory in one Python process: fernet_setup,
credential_setup, db_sync and bootstrap, as keystone-manage would run them one by one. Keystone's
imports take seconds; paying them once instead of four times is most of the start-up time.

Usage: python3 bootstrap.py CONFIG_FILE ADMIN_PASSWORD IDENTITY_URL
"""
import grp
import os
import pwd
import sys

from keystone.cmd import cli


def main():
    config_file, password, url = sys.argv[1:4]
    user = pwd.getpwuid(os.getuid()).pw_name
    group = grp.getgrgid(os.getgid()).gr_name
    owner = ['--keystone-user', user, '--keystone-group', group]
    # Keys first: the server (started beside this script) refuses to start without them.
    steps = [
        ['fernet_setup', *owner],
        ['credential_setup', *owner],
        ['db_sync'],
        ['bootstrap', '--bootstrap-password', password,
         '--bootstrap-admin-url', url, '--bootstrap-public-url', url,
         '--bootstrap-internal-url', url, '--bootstrap-region-id', 'RegionOne'],
    ]
    for step in steps:
        # keystone-manage parses its options once per process; forget the previous
        # command's so the next one can register and parse its own.
        cli.CONF.clear()
        cli.main(argv=['keystone-manage', '--config-file', config_file, *step])
    sys.stdout.flush()
    # Skip interpreter teardown: eventlet's patched threading prints a harmless traceback
    # at exit that would only confuse a reader of the log.
    os._exit(0)


if __name__ == '__main__':
    main()
