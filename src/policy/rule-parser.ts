/**
 * Parser for oslo.policy's rule language, the language of Glance's policy defaults and of
 * operators' policy files:
 *
 *   ""                        always allowed (oslo: an empty rule accepts)
 *   "@" / "!"                 always / never
 *   role:admin                the caller has the role (case-insensitive)
 *   rule:default              the named rule
 *   project_id:%(owner)s      a caller attribute equals a target value (generic check)
 *   'public':%(visibility)s   a literal equals a target value (generic check)
 *   A and B, A or B, not A, ( … )   `and` binds tighter than `or`; `not` applies to one check
 *
 * Differences from oslo.policy, all on the side of refusing: oslo logs an unparseable rule
 * and turns it into "never"; Iris throws RuleSyntaxError so that a bad policy file stops the
 * start instead of silently changing who may do what. External (`http:`/`https:`) checks are
 * refused for the same reason: Iris does not call out to a policy server.
 *
 * @example
 *   parseRule('role:admin or (role:member and project_id:%(owner)s)')
 */

/** A parsed rule: a tree of checks, evaluated by `rule-check.ts`. */
export type Check =
  | { readonly kind: 'true' }
  | { readonly kind: 'false' }
  | { readonly kind: 'and'; readonly checks: readonly Check[] }
  | { readonly kind: 'or'; readonly checks: readonly Check[] }
  | { readonly kind: 'not'; readonly check: Check }
  /** `rule:NAME`: another rule; an undefined one is false (oslo fails closed). */
  | { readonly kind: 'rule'; readonly name: string }
  /** `role:MATCH`: MATCH (after target substitution) is one of the caller's roles. */
  | { readonly kind: 'role'; readonly match: string }
  /**
   * `KIND:MATCH` for any other KIND: when KIND is a Python literal (`'public'`, `True`, `42`)
   * MATCH must equal it; otherwise KIND is a dotted path into the caller's credentials.
   */
  | {
      readonly kind: 'generic';
      readonly path: readonly string[] | null;
      readonly literal: string | null;
      readonly match: string;
      /** The check as written, for messages. */
      readonly text: string;
    };

/** A rule that cannot be parsed. `rule` is the whole rule text, `reason` what is wrong. */
export class RuleSyntaxError extends Error {
  constructor(
    readonly rule: string,
    readonly reason: string,
  ) {
    super(`cannot parse policy rule ${JSON.stringify(rule)}: ${reason}`);
    this.name = 'RuleSyntaxError';
  }
}

type Token =
  | { readonly type: '(' | ')' | 'and' | 'or' | 'not' }
  | { readonly type: 'check'; readonly check: Check; readonly text: string }
  | { readonly type: 'string'; readonly text: string };

/**
 * Parses one rule in the text syntax. Throws RuleSyntaxError for anything oslo.policy would
 * reject (and log) as well as for checks Iris cannot evaluate.
 */
export function parseRule(rule: string): Check {
  // oslo: an empty rule (or one of only whitespace, which tokenizes to nothing) accepts.
  const tokens = tokenize(rule);
  if (tokens.length === 0) return { kind: 'true' };
  let pos = 0;
  const peek = (): Token | undefined => tokens[pos];
  const fail = (reason: string): never => {
    throw new RuleSyntaxError(rule, reason);
  };

  const parseOr = (): Check => {
    const first = parseAnd();
    const checks = [first];
    while (peek()?.type === 'or') {
      pos++;
      checks.push(parseAnd());
    }
    return checks.length === 1 ? first : { kind: 'or', checks };
  };
  const parseAnd = (): Check => {
    const first = parseUnary();
    const checks = [first];
    while (peek()?.type === 'and') {
      pos++;
      checks.push(parseUnary());
    }
    return checks.length === 1 ? first : { kind: 'and', checks };
  };
  const parseUnary = (): Check => {
    const token = peek();
    if (token === undefined) return fail('the rule ends where a check was expected');
    pos++;
    switch (token.type) {
      case 'not':
        return { kind: 'not', check: parseUnary() };
      case '(': {
        const inner = parseOr();
        if (peek()?.type !== ')') return fail('a "(" is not closed');
        pos++;
        return inner;
      }
      case 'check':
        return token.check;
      case 'string':
        return fail(`the quoted string ${token.text} is not a check (write 'value':%(attribute)s)`);
      default:
        return fail(`unexpected "${token.type}" where a check was expected`);
    }
  };

  const result = parseOr();
  const rest = peek();
  if (rest !== undefined) {
    fail(rest.type === ')' ? 'a ")" has no matching "("' : `unexpected "${rest.type === 'check' ? rest.text : rest.type}" after a complete check`);
  }
  return result;
}

/**
 * oslo's tokenizer: split on whitespace; leading "(" and trailing ")" of each word are
 * separate tokens (a check's own "%(name)s" is never at either end); and/or/not in any case
 * are operators; a word quoted at both ends is a string.
 */
function tokenize(rule: string): Token[] {
  const tokens: Token[] = [];
  for (const word of rule.split(/\s+/)) {
    if (word === '') continue;
    const clean = word.replace(/^\(+/, '');
    for (let i = 0; i < word.length - clean.length; i++) tokens.push({ type: '(' });
    if (clean === '') continue;
    const body = clean.replace(/\)+$/, '');
    const trailing = clean.length - body.length;
    if (body !== '') {
      const lowered = body.toLowerCase();
      if (lowered === 'and' || lowered === 'or' || lowered === 'not') {
        tokens.push({ type: lowered });
      } else if (clean.length >= 2 && isQuoted(clean)) {
        // oslo tests the word with its trailing parens still on, as here.
        tokens.push({ type: 'string', text: clean });
      } else {
        tokens.push({ type: 'check', check: parseCheck(rule, body), text: body });
      }
    }
    for (let i = 0; i < trailing; i++) tokens.push({ type: ')' });
  }
  return tokens;
}

function isQuoted(word: string): boolean {
  const first = word[0];
  return (first === '"' || first === "'") && word[word.length - 1] === first;
}

/** One check word: `@`, `!` or `kind:match`. */
export function parseCheck(rule: string, text: string): Check {
  if (text === '@') return { kind: 'true' };
  if (text === '!') return { kind: 'false' };
  const colon = text.indexOf(':');
  if (colon < 0) throw new RuleSyntaxError(rule, `"${text}" is not a check (expected kind:match, "@" or "!")`);
  const kind = text.slice(0, colon);
  const match = text.slice(colon + 1);
  checkSubstitutions(rule, match);
  switch (kind) {
    case 'rule':
      return { kind: 'rule', name: match };
    case 'role':
      return { kind: 'role', match };
    case 'http':
    case 'https':
      throw new RuleSyntaxError(rule, `external checks ("${text}") are not supported by Iris`);
    default: {
      const literal = parseLiteral(rule, kind);
      return {
        kind: 'generic',
        literal,
        path: literal === null ? kind.split('.') : null,
        match,
        text,
      };
    }
  }
}

/**
 * The `str()` of `kind` when it is a Python literal (what oslo's `ast.literal_eval` accepts
 * and compares as text), or null when it is an attribute path. Literals Iris does not know
 * how to render like Python (containers, complex numbers) are refused rather than guessed.
 */
function parseLiteral(rule: string, kind: string): string | null {
  if (kind === '') throw new RuleSyntaxError(rule, 'a check has an empty kind');
  if (kind === 'True' || kind === 'False' || kind === 'None') return kind;
  const quote = kind[0];
  if (quote === "'" || quote === '"') {
    if (kind.length < 2 || kind[kind.length - 1] !== quote || kind.slice(1, -1).includes(quote)) {
      throw new RuleSyntaxError(rule, `the literal ${kind} is not a simple quoted string`);
    }
    const text = kind.slice(1, -1);
    if (text.includes('\\')) throw new RuleSyntaxError(rule, `escapes in the literal ${kind} are not supported`);
    return text;
  }
  if (/^[+-]?\d+$/.test(kind)) {
    // Python ints print without sign noise or leading zeros (and refuse leading zeros).
    if (/^[+-]?0\d/.test(kind)) throw new RuleSyntaxError(rule, `the number ${kind} has a leading zero`);
    return String(BigInt(kind));
  }
  if (/^[\d+\-.[({]/.test(kind)) {
    throw new RuleSyntaxError(rule, `the literal ${kind} is not supported (use a quoted string, an integer, True, False or None)`);
  }
  // Python identifiers and dotted attribute paths are credential lookups.
  return null;
}

/** Only `%(name)s` and `%%` are allowed in a match (Python %-formatting with the target). */
function checkSubstitutions(rule: string, match: string): void {
  const rest = match.replace(/%\([^)]*\)s|%%/g, '');
  if (rest.includes('%')) {
    throw new RuleSyntaxError(rule, `"${match}" has a "%" that is not %(attribute)s or %%`);
  }
}

/** The rule as oslo.policy prints it (`str()` of its check tree), for logs and docs. */
export function formatRule(check: Check): string {
  switch (check.kind) {
    case 'true':
      return '@';
    case 'false':
      return '!';
    case 'and':
      return `(${check.checks.map(formatRule).join(' and ')})`;
    case 'or':
      return `(${check.checks.map(formatRule).join(' or ')})`;
    case 'not':
      return `not ${formatRule(check.check)}`;
    case 'rule':
      return `rule:${check.name}`;
    case 'role':
      return `role:${check.match}`;
    case 'generic':
      return check.text;
  }
}
