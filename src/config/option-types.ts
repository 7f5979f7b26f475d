/**
 * What a row of the option table is (section, name, type, default, help, optional check), and
 * the value types computed from rows, so that the Config type (config.ts) follows the table
 * and cannot drift from it; plus the one row shape several sections share (ignoredOption).
 */

export type OptionType = 'string' | 'integer' | 'boolean' | 'list' | 'size' | 'path';

/** What a value of each option type parses to. */
export interface OptionValueTypes {
  string: string;
  integer: number;
  boolean: boolean;
  list: readonly string[];
  size: number;
  path: string;
}

/** Facts computed defaults and conversions may depend on. */
export interface OptionContext {
  /** Absolute directory relative paths are resolved against. */
  readonly cwd: string;
  /** Absolute resolved `[iris] data_dir` (only meaningful once data_dir itself is resolved). */
  readonly dataDir: string;
  /** The backend id, while resolving the options of a per-store section (BACKEND_OPTIONS). */
  readonly storeId?: string;
}

interface BaseOption {
  readonly section: string;
  readonly name: string;
  /** As written in a file; a function when it is computed (from data_dir). */
  readonly default: string | ((ctx: OptionContext) => string);
  /** How a computed or unset default is shown in the sample and docs. */
  readonly defaultText?: string;
  /** Integer bounds, inclusive. */
  readonly min?: number;
  readonly max?: number;
  /** One paragraph for operators. */
  readonly help: string;
  /** A short environment variable that also sets this option (besides IRIS__SECTION__OPTION). */
  readonly envAlias?: string;
  /** Older spellings, read only when this option is set nowhere; each use is a deprecation. */
  readonly deprecatedNames?: readonly { readonly section: string; readonly name: string }[];
  /** Known to Glance operators but unused by Iris: accepted silently, not part of Config. */
  readonly ignored?: boolean;
}

type TypedOption<T extends OptionType> = BaseOption & {
  readonly type: T;
  /**
   * Checks or converts the parsed value; throws an Error whose message is the reason. Its
   * result type is the option's type in Config, so a check that narrows (to a set of names,
   * or null for unset) should return the narrowed value.
   */
  readonly convert?: (value: OptionValueTypes[T], ctx: OptionContext) => unknown;
};

/** One row of the option table. */
export type ConfigOption = { [T in OptionType]: TypedOption<T> }[OptionType];

/**
 * A Glance-spelled option Iris accepts but does not use, so that an operator's existing file
 * loads without warnings: read and checked like any row, never a Config field.
 */
export function ignoredOption<S extends string, N extends string>(section: S, name: N, why: string) {
  return {
    section,
    name,
    type: 'string',
    default: '',
    defaultText: '<None>',
    ignored: true,
    help: `Accepted so that an existing ${why}`,
  } as const;
}

/** Config values are deeply frozen: arrays and records read-only. */
type Frozen<V> = V extends readonly (infer E)[] ? readonly E[] : V extends object ? Readonly<V> : V;

/** The value a row yields: what its check returns, else what its type parses to. */
export type OptionValue<R> = Frozen<
  R extends { readonly convert: (...args: never[]) => infer V }
    ? V
    : R extends { readonly type: infer T extends OptionType }
      ? OptionValueTypes[T]
      : never
>;

/**
 * The rows that become Config fields: not those accepted only to keep Glance's files quiet, and
 * not rows built without literal section and name (the store types' groups, typed by
 * src/blob/store-options.ts; see config.ts).
 */
type LiveRows<Rows extends readonly ConfigOption[]> = Named<Exclude<Rows[number], { readonly ignored: true }>>;
type Named<R> = R extends { readonly section: infer S; readonly name: infer N } ? (string extends S | N ? never : R) : never;

/** The fields of one section: option name to value. */
type SectionValues<R extends { readonly name: string }> = { readonly [Row in R as Row['name']]: OptionValue<Row> };

/**
 * What the rows become in Config: an option in section `s` named `n` is `config[s][n]`, except
 * the Iris-only section `[iris]`, whose options are top-level fields (`config.data_dir`).
 */
export type OptionValues<Rows extends readonly ConfigOption[]> = {
  readonly [S in Exclude<LiveRows<Rows>['section'], 'iris'>]: SectionValues<Extract<LiveRows<Rows>, { readonly section: S }>>;
} & SectionValues<Extract<LiveRows<Rows>, { readonly section: 'iris' }>>;
