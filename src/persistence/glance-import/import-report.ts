/**
 * The import's report: what was carried, added, updated, left unchanged or skipped, and why.
 * Counted while importing; `formatReport` turns it into the text iris-manage prints.
 */

/** Counts by reason, in first-seen order. */
export class ReasonCounts {
  readonly #counts = new Map<string, number>();

  add(reason: string, n = 1): void {
    this.#counts.set(reason, (this.#counts.get(reason) ?? 0) + n);
  }

  get total(): number {
    let sum = 0;
    for (const n of this.#counts.values()) sum += n;
    return sum;
  }

  entries(): [string, number][] {
    return [...this.#counts.entries()];
  }
}

/** Images and tasks: each carried one is added, updated or unchanged. */
export interface RowCounts {
  /** Rows read from Glance. */
  seen: number;
  added: number;
  updated: number;
  unchanged: number;
  /** Imported earlier, deleted in Glance since: soft-deleted in Iris now. */
  removed: number;
  readonly skipped: ReasonCounts;
}

/** Child rows (properties, tags, members, locations): carried with their image, or skipped. */
export interface ChildCounts {
  carried: number;
  readonly skipped: ReasonCounts;
}

export interface ImportReport {
  readonly source: string;
  revision: string;
  readonly target: string;
  readonly dryRun: boolean;
  readonly images: RowCounts;
  readonly properties: ChildCounts;
  readonly tags: ChildCounts;
  readonly members: ChildCounts & { readonly byStatus: ReasonCounts };
  readonly locations: ChildCounts & {
    /** Carried, and served by an Iris store. */
    servable: number;
    /** Of the servable ones: metadata.store rewritten to the Iris store's id (or dropped). */
    restored: number;
    /** Of the servable active ones: no file at the path (Glance lost it, or another host's disk). */
    missingFiles: number;
    /** Carried, but no configured store can read them: by reason. */
    readonly notServable: ReasonCounts;
  };
  readonly tasks: RowCounts;
  /** Carried images in saving, uploading or importing: Glance's staged data is not carried. */
  inFlight: number;
  /** Per-row remarks ("image <id>: …"), at most MAX_NOTES kept. */
  readonly notes: string[];
  notesDropped: number;
}

const MAX_NOTES = 50;

function rowCounts(): RowCounts {
  return { seen: 0, added: 0, updated: 0, unchanged: 0, removed: 0, skipped: new ReasonCounts() };
}

export function emptyReport(source: string, target: string, dryRun: boolean): ImportReport {
  return {
    source,
    revision: '',
    target,
    dryRun,
    images: rowCounts(),
    properties: { carried: 0, skipped: new ReasonCounts() },
    tags: { carried: 0, skipped: new ReasonCounts() },
    members: { carried: 0, skipped: new ReasonCounts(), byStatus: new ReasonCounts() },
    locations: { carried: 0, skipped: new ReasonCounts(), servable: 0, restored: 0, missingFiles: 0, notServable: new ReasonCounts() },
    tasks: rowCounts(),
    inFlight: 0,
    notes: [],
    notesDropped: 0,
  };
}

export function addNote(report: ImportReport, note: string): void {
  if (report.notes.length < MAX_NOTES) report.notes.push(note);
  else report.notesDropped++;
}

function reasons(counts: ReasonCounts, noun: string): string {
  return counts
    .entries()
    .map(([reason, n]) => (noun === '' ? `${n} ${reason}` : `${n} ${noun} ${reason}`))
    .join('; ');
}

function rowLine(name: string, counts: RowCounts, dryRun: boolean): string {
  const carried = counts.added + counts.updated + counts.unchanged;
  const verb = dryRun ? 'would be ' : '';
  const parts = [`${name}: ${counts.seen} in Glance, ${carried} carried (${verb}added ${counts.added}, ${verb}updated ${counts.updated}, unchanged ${counts.unchanged})`];
  if (counts.removed > 0) parts.push(`${counts.removed} ${verb}deleted in Iris (deleted in Glance since an earlier import)`);
  if (counts.skipped.total > 0) parts.push(`${counts.skipped.total} skipped: ${reasons(counts.skipped, '')}`);
  return parts.join('; ');
}

function childLine(name: string, counts: ChildCounts, extra = ''): string {
  const skipped = counts.skipped.total > 0 ? `; ${counts.skipped.total} skipped: ${reasons(counts.skipped, name)}` : '';
  return `${name}: ${counts.carried} carried${extra}${skipped}`;
}

/**
 * The report as printed, one line per kind of row, then notes. "unchanged" counts rows Iris
 * already held exactly (a re-run), so a second import of the same database says
 * `added 0, updated 0, unchanged N`.
 */
export function formatReport(report: ImportReport): string {
  const lines = [
    `Glance database: ${report.source} (alembic revision ${report.revision})`,
    `Iris database: ${report.target}${report.dryRun ? ' (dry run: nothing written)' : ''}`,
    rowLine('images', report.images, report.dryRun),
    childLine('properties', report.properties),
    childLine('tags', report.tags),
    childLine('members', report.members, report.members.byStatus.total > 0 ? ` (${report.members.byStatus.entries().map(([s, n]) => `${n} ${s}`).join(', ')})` : ''),
    childLine(
      'locations',
      report.locations,
      ` (${report.locations.servable} served by Iris's stores in place` +
        (report.locations.restored > 0 ? `, ${report.locations.restored} with their store id set to Iris's` : '') +
        (report.locations.missingFiles > 0 ? `, ${report.locations.missingFiles} with no file at their path` : '') +
        ')' +
        (report.locations.notServable.total > 0
          ? `; ${report.locations.notServable.total} carried but not servable: ${reasons(report.locations.notServable, 'locations')}`
          : ''),
    ),
    rowLine('tasks', report.tasks, report.dryRun),
  ];
  if (report.inFlight > 0) {
    lines.push(
      `in flight: ${report.inFlight} image(s) in saving, uploading or importing; Glance's staged data is not carried, ` +
        "and Iris's start-up recovery treats them as after a crash (back to queued when their data is gone)",
    );
  }
  for (const note of report.notes) lines.push(`note: ${note}`);
  if (report.notesDropped > 0) lines.push(`note: … and ${report.notesDropped} more`);
  return `${lines.join('\n')}\n`;
}
