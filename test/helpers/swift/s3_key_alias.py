"""A paste filter for the test Swift: S3 access keys without a colon, standing for tempauth users.

Tempauth's S3 access key is its user name, `account:user`. glance_store's S3 driver writes the
keys into the image location (`s3+http://ACCESS:SECRET@host/bucket/key`) and splits them at the
first colon when it reads the location back, so the real Glance cannot read or delete what it
wrote with `test:tester`. With this filter between s3api and tempauth, a colon-free alias
(`aliases = test-tester=test:tester`) works as that user: the filter renames the access key
s3api parsed, and the account s3api put in the path, before tempauth looks them up. SigV4
signs with the secret key alone, so the signature still checks.
"""


def filter_factory(global_conf, **local_conf):
    aliases = dict(pair.split('=', 1) for pair in local_conf.get('aliases', '').split())

    def make_filter(app):
        def s3_key_alias(env, start_response):
            details = env.get('s3api.auth_details')
            alias = details.get('access_key') if details else None
            if alias in aliases:
                user = aliases[alias]
                details['access_key'] = user
                # s3api's path is /v1/<access key>/...; tempauth swaps `account:user` for the account id.
                parts = env['PATH_INFO'].split('/', 3)
                if len(parts) > 2 and parts[2] == alias:
                    parts[2] = user
                    env['PATH_INFO'] = '/'.join(parts)
            return app(env, start_response)
        return s3_key_alias
    return make_filter
