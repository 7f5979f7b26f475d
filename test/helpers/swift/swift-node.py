"""A one-node, one-replica Swift 2.30 (Debian's python3-swift) for Iris's tests.

    swift-node.py prepare STATE PROXY ACCOUNT CONTAINER OBJECT MEMCACHED TOKEN_LIFE
        writes STATE/etc/{swift,proxy-server,account-server,container-server,object-server}.conf
        and the three rings (one device, STATE/srv/node/d1).
    swift-node.py serve NAME STATE
        runs one server (account-server, container-server, object-server, proxy-server) in this
        process (workers = 0: no fork), logging to STATE/log/NAME.log.

Why a launcher and not swift-*-server: Swift 2.30 reads /etc/swift/swift.conf (hash prefix and
suffix, storage policies) from a constant; only the rings follow swift_dir. Pointing Swift's own
swift_dir at STATE/etc before the policies load keeps every bit of state in STATE, and the
syslog handler is swapped for a file so the logs are not lost to /dev/log.
Must run on /usr/bin/python3, the interpreter Debian's swift modules are installed for.
"""
import getpass
import logging
import os
import sys

SERVERS = ('account-server', 'container-server', 'object-server', 'proxy-server')


def backend_conf(state, port, app):
    return f"""[DEFAULT]
bind_ip = 127.0.0.1
bind_port = {port}
workers = 0
user = {getpass.getuser()}
swift_dir = {state}/etc
devices = {state}/srv/node
mount_check = false
recon_cache_path = {state}/cache
log_level = INFO

[pipeline:main]
pipeline = healthcheck {app}-server

[app:{app}-server]
use = egg:swift#{app}

[filter:healthcheck]
use = egg:swift#healthcheck
"""


def proxy_conf(state, port, memcached_port, token_life):
    # s3api before the auth filter and slo after it, or s3api quietly turns multipart off;
    # copy before slo/dlo. Two tempauth accounts: test (the default) and test2. s3_key_alias
    # (s3_key_alias.py, next to this file) gives each a colon-free S3 access key for glance_store.
    return f"""[DEFAULT]
bind_ip = 127.0.0.1
bind_port = {port}
workers = 0
user = {getpass.getuser()}
swift_dir = {state}/etc
log_level = INFO

[pipeline:main]
pipeline = catch_errors gatekeeper healthcheck proxy-logging cache listing_formats bulk tempurl s3api s3_key_alias tempauth copy slo dlo versioned_writes symlink proxy-logging proxy-server

[app:proxy-server]
use = egg:swift#proxy
allow_account_management = true
account_autocreate = true

[filter:tempauth]
use = egg:swift#tempauth
reseller_prefix = AUTH
token_life = {token_life}
user_test_tester = testing .admin
user_test2_tester2 = testing2 .admin

[filter:s3_key_alias]
paste.filter_factory = s3_key_alias:filter_factory
aliases = test-tester=test:tester test2-tester2=test2:tester2

[filter:s3api]
use = egg:swift#s3api
location = us-east-1
s3_acl = false
allow_multipart_uploads = true
min_segment_size = 5242880
max_upload_part_num = 10000

[filter:cache]
use = egg:swift#memcache
memcache_servers = 127.0.0.1:{memcached_port}

[filter:catch_errors]
use = egg:swift#catch_errors

[filter:gatekeeper]
use = egg:swift#gatekeeper

[filter:healthcheck]
use = egg:swift#healthcheck

[filter:proxy-logging]
use = egg:swift#proxy_logging

[filter:listing_formats]
use = egg:swift#listing_formats

[filter:bulk]
use = egg:swift#bulk

[filter:tempurl]
use = egg:swift#tempurl

[filter:copy]
use = egg:swift#copy

[filter:slo]
use = egg:swift#slo
# S3 multipart uploads become SLOs: allow as many segments as s3api allows parts.
max_manifest_segments = 10000

[filter:dlo]
use = egg:swift#dlo

[filter:versioned_writes]
use = egg:swift#versioned_writes
allow_versioned_writes = true
allow_object_versioning = true

[filter:symlink]
use = egg:swift#symlink
"""


def prepare(state, proxy, account, container, obj, memcached, token_life):
    etc = os.path.join(state, 'etc')
    for sub in ('etc', 'log', 'cache', 'srv/node/d1'):
        os.makedirs(os.path.join(state, sub), exist_ok=True)
    files = {
        'swift.conf': '[swift-hash]\nswift_hash_path_suffix = iris-test-suffix\n'
                      'swift_hash_path_prefix = iris-test-prefix\n\n'
                      '[storage-policy:0]\nname = Policy-0\ndefault = yes\n',
        'account-server.conf': backend_conf(state, account, 'account'),
        'container-server.conf': backend_conf(state, container, 'container'),
        'object-server.conf': backend_conf(state, obj, 'object'),
        'proxy-server.conf': proxy_conf(state, proxy, memcached, token_life),
    }
    for name, text in files.items():
        with open(os.path.join(etc, name), 'w') as f:
            f.write(text)
    from swift.common.ring import RingBuilder
    for name, port in (('account', account), ('container', container), ('object', obj)):
        builder = RingBuilder(8, 1, 1)  # part power 8, one replica
        builder.add_dev({'id': 0, 'region': 1, 'zone': 1, 'ip': '127.0.0.1', 'port': int(port),
                         'device': 'd1', 'weight': 100.0, 'meta': ''})
        builder.rebalance()
        builder.get_ring().save(os.path.join(etc, f'{name}.ring.gz'))


def serve(name, state):
    etc = os.path.join(state, 'etc')
    logfile = os.path.join(state, 'log', f'{name}.log')
    from swift.common import utils

    class FileLogHandler(logging.FileHandler):
        def __init__(self, *args, **kwargs):
            logging.FileHandler.__init__(self, logfile)

    utils.ThreadSafeSysLogHandler = FileLogHandler
    utils.set_swift_dir(etc)
    from swift.common import storage_policy
    storage_policy.reload_storage_policies()
    from swift.common.wsgi import run_wsgi
    return run_wsgi(os.path.join(etc, f'{name}.conf'), name)


if __name__ == '__main__':
    if len(sys.argv) == 9 and sys.argv[1] == 'prepare':
        prepare(*sys.argv[2:])
    elif len(sys.argv) == 4 and sys.argv[1] == 'serve' and sys.argv[2] in SERVERS:
        sys.exit(serve(sys.argv[2], sys.argv[3]))
    else:
        sys.exit(__doc__)
