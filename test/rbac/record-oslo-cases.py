#!/usr/bin/python3
"""Records how oslo.policy itself evaluates a set of rules, for src/policy/rule-check.test.ts.

Run: /usr/bin/python3 test/rbac/record-oslo-cases.py > src/policy/oslo-cases.json
Uses the oslo.policy installed with Debian's glance-api (the version Glance 25.1.0 ships with).
Each case: rule text, target, creds -> oslo's answer, or "unparseable" when oslo's parser
gives up (oslo logs it and turns the rule into "never"; Iris refuses such a rule at load).
"""
import json
import logging

from oslo_policy import _checks, _parser, version

logging.disable(logging.CRITICAL)

RULES = [
    '', '@', '!', 'role:admin', 'ROLE:admin', 'role:ADMIN', 'role:%(role)s', 'role:%(missing)s',
    'project_id:%(owner)s', 'project_id:%(project_id)s', 'project_id:%(member_id)s', 'user_id:%(user_id)s',
    "'public':%(visibility)s", '"public":%(visibility)s', "'shared':%(visibility)s", 'True:%(protected)s',
    'False:%(protected)s', 'None:%(owner)s', '42:%(min_disk)s', '-1:%(min_disk)s', 'is_admin:True', 'is_admin_project:True',
    'rule:admin_only', 'rule:missing', 'rule:owner', 'rule:admin_or_owner',
    'role:admin or role:member', 'role:admin and role:member', 'not role:admin', 'not not role:admin',
    'role:admin or role:member and project_id:%(owner)s', '(role:admin or role:member) and project_id:%(owner)s',
    'role:admin AND role:member OR role:reader', 'role:reader and not role:admin or role:admin and not role:reader',
    'not role:admin and role:member', 'not (role:admin and role:member)', '((role:admin))', '( role:admin )',
    'role:admin or (role:member and (project_id:%(owner)s or project_id:%(member_id)s))',
    'role:admin or role:reader and (project_id:%(project_id)s or project_id:%(member_id)s)',
    'role:member and (project_id:%(project_id)s or project_id:%(member_id)s or \'community\':%(visibility)s '
    'or \'public\':%(visibility)s or \'shared\':%(visibility)s)',
    'roles:admin', 'roles:member', 'service_roles:service', 'nested.key:value', 'nested.list.key:x', 'system_scope:all',
    'project_id:%(owner)s and user_id:%(user_id)s or role:admin', 'role:a or role:b or role:c and role:d and role:e',
    '@ and !', '@ or !', 'not @', 'not !', 'project_id:%%literal', 'owner:%(owner)s%(owner)s',
    'tags:%(tag)s', 'project_id:p1', 'role:member and project_id:%(owner)s and not \'private\':%(visibility)s',
    # Unparseable for oslo (and for Iris):
    'role:admin or', 'and role:admin', '(role:admin', 'role:admin)', 'role:admin role:member', 'admin', '"quoted"',
    'not', '()', 'role:admin or or role:member',
]

TARGETS = [
    {'owner': 'p1', 'project_id': 'p1', 'member_id': None, 'visibility': 'private', 'protected': True, 'min_disk': 42,
     'user_id': 'u1', 'role': 'member', 'tag': 'x'},
    {'owner': 'p2', 'project_id': 'p2', 'member_id': 'p1', 'visibility': 'shared', 'protected': False, 'min_disk': -1,
     'user_id': 'u2', 'role': 'admin', 'tag': 'y'},
    {'owner': None, 'project_id': None, 'member_id': None, 'visibility': 'public', 'protected': False, 'min_disk': 0},
    {'owner': 'p3', 'visibility': 'community'},
]

CREDS = [
    {'project_id': 'p1', 'user_id': 'u1', 'roles': ['member', 'reader'], 'is_admin_project': True,
     'service_roles': [], 'system_scope': None, 'nested': {'key': 'value', 'list': [{'key': 'y'}, {'key': 'x'}]}},
    {'project_id': 'p2', 'user_id': 'u2', 'roles': ['Admin'], 'is_admin_project': True, 'service_roles': ['service'],
     'system_scope': 'all'},
    {'project_id': None, 'user_id': None, 'roles': [], 'is_admin_project': True, 'service_roles': [], 'system_scope': None},
    {'project_id': 'p1', 'user_id': 'u3', 'roles': ['reader'], 'is_admin': True},
]

NAMED = {
    'admin_only': 'role:admin',
    'owner': 'project_id:%(owner)s',
    'admin_or_owner': 'rule:admin_only or rule:owner',
}


class FakeEnforcer:
    def __init__(self):
        self.rules = {name: _parser.parse_rule(text) for name, text in NAMED.items()}


def parses(text):
    """Whether oslo's parser understood the whole rule (it returns FalseCheck when not)."""
    if not text:
        return True
    state = _parser.ParseState()
    for tok, value in _parser._parse_tokenize(text):
        state.shift(tok, value)
    try:
        result = state.result
    except ValueError:
        return False
    # A lone string or operator "reduces" to itself, which is not a check at all.
    if not isinstance(result, _checks.BaseCheck):
        return False
    # A word without ':' becomes a FalseCheck with a logged error: unparseable too.
    for tok, value in _parser._parse_tokenize(text):
        if tok == 'check' and isinstance(value, _checks.FalseCheck) and value.__class__ is _checks.FalseCheck:
            words = [w.strip('()') for w in text.split()]
            if '!' not in words:
                return False
    return True


cases = []
enforcer = FakeEnforcer()
for text in RULES:
    if not parses(text):
        cases.append({'rule': text, 'result': 'unparseable'})
        continue
    check = _parser.parse_rule(text)
    for ti, target in enumerate(TARGETS):
        for ci, creds in enumerate(CREDS):
            try:
                result = bool(_checks._check(check, target, creds, enforcer, None))
            except Exception as e:  # noqa
                result = 'error: %s' % type(e).__name__
            cases.append({'rule': text, 'target': ti, 'creds': ci, 'result': result})

print(json.dumps({
    'how': 'test/rbac/record-oslo-cases.py with oslo.policy %s' % version.version_info.version_string(),
    'named': NAMED, 'targets': TARGETS, 'creds': CREDS, 'cases': cases,
}, indent=1))
