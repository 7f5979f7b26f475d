/**
 * One request and its answer as the conformance harness compares them: headers with lower-case
 * names, values and bodies already normalised (ids, times, base URL), so two servers' records
 * of the same request can be compared field by field.
 */

/** A response body reduced to what the comparison looks at. */
export type Body =
  | { readonly kind: 'none' }
  | { readonly kind: 'json'; readonly value: unknown }
  | { readonly kind: 'text'; readonly text: string }
  | { readonly kind: 'binary'; readonly size: number; readonly md5: string };

export interface Exchange {
  /** Stable id of the case, matched by the `case` of docs/conformance.md entries. */
  readonly case: string;
  /** The request as sent (method, normalised path, notable headers), for the report. */
  readonly request: string;
  /** 0 when the server closed the connection without answering. */
  readonly status: number;
  /** Lower-case names; a repeated header's values joined with ", ". */
  readonly headers: ReadonlyMap<string, string>;
  readonly body: Body;
}
