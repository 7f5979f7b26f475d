/**
 * The RBAC matrix scenario: every image action × persona × visibility → HTTP status, list
 * presence for each list filter, and create variants. It only speaks HTTP and relies on
 * `hybrid` authentication (no identity header = the project-less admin; X-Project-Id,
 * X-Roles, X-User-Id = that caller), so the same code runs against the peer Glance (by
 * record-matrix.ts) and against Iris (by rbac-matrix.test.ts).
 *
 * Every cell runs on an image of its own, made by the owner for that cell, so one
 * persona's actions never change what another persona sees. Within a cell the actions run
 * in a fixed order, read-only first, state changes (visibility, deletion) last.
 */
import { randomBytes } from 'node:crypto';

export interface Persona {
  /** Project key (resolved to a per-run project id), or null for the project-less admin. */
  readonly project: string | null;
  readonly roles: readonly string[];
  readonly description: string;
}

export const PERSONAS = {
  'admin-other-project': { project: 'adminproj', roles: ['admin', 'member', 'reader'], description: 'admin role, in a project other than the owner' },
  'owner-member': { project: 'owner', roles: ['member', 'reader'], description: "member role in the image's project" },
  'owner-reader': { project: 'owner', roles: ['reader'], description: "reader role only, in the image's project" },
  'other-project': { project: 'other', roles: ['member', 'reader'], description: 'member of a project with no relation to the image' },
  'member-pending': { project: 'pending', roles: ['member', 'reader'], description: 'project the image is shared with, membership pending' },
  'member-accepted': { project: 'accepted', roles: ['member', 'reader'], description: 'project the image is shared with, membership accepted' },
  'member-rejected': { project: 'rejected', roles: ['member', 'reader'], description: 'project the image is shared with, membership rejected' },
  'admin-no-project': { project: null, roles: [], description: 'no identity headers: the unauthenticated admin (noauth), no project, no roles' },
} as const satisfies Record<string, Persona>;
export type PersonaName = keyof typeof PERSONAS;
export const PERSONA_NAMES = Object.keys(PERSONAS) as PersonaName[];

/** How each image of a cell is made: created, and for the last two shared first (with all three memberships) then changed. */
export const IMAGE_KINDS = ['private', 'shared', 'public', 'community', 'shared-then-private', 'shared-then-community'] as const;
export type ImageKind = (typeof IMAGE_KINDS)[number];

/** Per-image actions, in the order they run within a cell. */
export const ACTIONS = [
  'show',
  'download',
  'members-list',
  'member-show-accepted',
  'member-show-self',
  'patch-property',
  'visibility-unchanged',
  'tag-add',
  'tag-delete',
  'deactivate',
  'reactivate',
  'upload-to-active',
  'member-update-self',
  'member-add',
  'member-delete-rejected',
  'communitize',
  'publicize',
  'delete',
] as const;
export type Action = (typeof ACTIONS)[number];

export const ACTION_CALLS: Readonly<Record<Action, string>> = {
  show: 'GET /v2/images/{id}',
  download: 'GET /v2/images/{id}/file',
  'members-list': 'GET /v2/images/{id}/members',
  'member-show-accepted': 'GET /v2/images/{id}/members/{accepted project}',
  'member-show-self': "GET /v2/images/{id}/members/{caller's project}",
  'patch-property': 'PATCH /v2/images/{id} add /rbac_prop',
  'visibility-unchanged': 'PATCH /v2/images/{id} replace /visibility with the visibility it has',
  'tag-add': 'PUT /v2/images/{id}/tags/rbac',
  'tag-delete': 'DELETE /v2/images/{id}/tags/rbac',
  deactivate: 'POST /v2/images/{id}/actions/deactivate',
  reactivate: 'POST /v2/images/{id}/actions/reactivate',
  'upload-to-active': 'PUT /v2/images/{id}/file (image active: 409 once allowed)',
  'member-update-self': 'PUT /v2/images/{id}/members/{caller\'s project} {"status": "accepted"}',
  'member-add': 'POST /v2/images/{id}/members {"member": new project}',
  'member-delete-rejected': 'DELETE /v2/images/{id}/members/{rejected project}',
  communitize: 'PATCH /v2/images/{id} replace /visibility community',
  publicize: 'PATCH /v2/images/{id} replace /visibility public',
  delete: 'DELETE /v2/images/{id}',
};

/** List queries; each also carries `tag=<run tag>` so that only this run's images count. */
export const LIST_FILTERS = [
  '',
  'visibility=private',
  'visibility=shared',
  'visibility=public',
  'visibility=community',
  'visibility=all',
  'member_status=pending',
  'member_status=accepted',
  'member_status=rejected',
  'member_status=all',
  'visibility=shared&member_status=pending',
  'visibility=shared&member_status=accepted',
  'visibility=shared&member_status=rejected',
  'visibility=shared&member_status=all',
] as const;

/** POST /v2/images variants, each tried by every persona. */
export const CREATE_VARIANTS = {
  default: {},
  private: { visibility: 'private' },
  public: { visibility: 'public' },
  community: { visibility: 'community' },
  'owner-other-project': { owner: '{other}' },
} as const;
export type CreateVariant = keyof typeof CREATE_VARIANTS;

export interface MatrixResult {
  /** `kind/action/persona` → HTTP status. */
  readonly images: Record<string, number>;
  /** `persona/filter` → the image kinds listed (sorted). */
  readonly lists: Record<string, string[]>;
  /** `variant/persona` → HTTP status. */
  readonly creates: Record<string, number>;
}

const PATCH_TYPE = 'application/openstack-images-v2.1-json-patch';

export interface RunOptions {
  /** Calls in flight at once (cells run in parallel, each cell's calls in order). */
  readonly concurrency?: number;
  readonly log?: (line: string) => void;
}

/** Runs the whole scenario against `baseUrl` (e.g. http://127.0.0.1:9292). */
export async function runMatrix(baseUrl: string, opts: RunOptions = {}): Promise<MatrixResult> {
  const run = `rbac${randomBytes(4).toString('hex')}`;
  const project = (key: string | null) => (key === null ? null : `${run}-${key}`);
  const tag = `${run}-list`;

  const call = async (
    who: PersonaName,
    method: string,
    path: string,
    body?: { json?: unknown; patch?: unknown; bytes?: string },
  ): Promise<{ status: number; json: unknown }> => {
    const persona: Persona = PERSONAS[who];
    const headers: Record<string, string> = { accept: 'application/json' };
    if (persona.project !== null) {
      headers['x-project-id'] = project(persona.project)!;
      headers['x-roles'] = persona.roles.join(',');
      headers['x-user-id'] = `${run}-user-${who}`;
    }
    let payload: string | undefined;
    if (body?.json !== undefined) {
      headers['content-type'] = 'application/json';
      payload = JSON.stringify(body.json);
    } else if (body?.patch !== undefined) {
      headers['content-type'] = PATCH_TYPE;
      payload = JSON.stringify(body.patch);
    } else if (body?.bytes !== undefined) {
      headers['content-type'] = 'application/octet-stream';
      payload = body.bytes;
    }
    const response = await fetch(`${baseUrl}${path}`, { method, headers, body: payload, signal: AbortSignal.timeout(30_000) });
    const text = await response.text();
    let json: unknown = null;
    if ((response.headers.get('content-type') ?? '').includes('json') && text !== '') {
      try {
        json = JSON.parse(text);
      } catch {
        json = null;
      }
    }
    return { status: response.status, json };
  };
  const expect = async (what: string, p: Promise<{ status: number; json: unknown }>, ok: number[]): Promise<unknown> => {
    const r = await p;
    if (!ok.includes(r.status)) throw new Error(`setup step "${what}" answered ${r.status}: ${JSON.stringify(r.json)}`);
    return r.json;
  };

  /** An image of `kind` owned by the owner project, with data and (shared kinds) three memberships. */
  const makeImage = async (kind: ImageKind, tags: string[] = []): Promise<string> => {
    const visibility = kind.startsWith('shared') ? 'shared' : kind;
    const creator: PersonaName = kind === 'public' ? 'admin-other-project' : 'owner-member';
    const created = (await expect(
      `create ${kind}`,
      call(creator, 'POST', '/v2/images', {
        json: { name: `${run}-${kind}`, disk_format: 'raw', container_format: 'bare', visibility, owner: project('owner'), tags },
      }),
      [201],
    )) as { id: string };
    const id = created.id;
    await expect('upload', call('owner-member', 'PUT', `/v2/images/${id}/file`, { bytes: 'rbac matrix data' }), [204]);
    if (visibility === 'shared') {
      for (const member of ['pending', 'accepted', 'rejected'] as const) {
        await expect(`add member ${member}`, call('owner-member', 'POST', `/v2/images/${id}/members`, { json: { member: project(member) } }), [200]);
      }
      await expect('accept', call('member-accepted', 'PUT', `/v2/images/${id}/members/${project('accepted')}`, { json: { status: 'accepted' } }), [200]);
      await expect('reject', call('member-rejected', 'PUT', `/v2/images/${id}/members/${project('rejected')}`, { json: { status: 'rejected' } }), [200]);
    }
    if (kind === 'shared-then-private' || kind === 'shared-then-community') {
      const to = kind === 'shared-then-private' ? 'private' : 'community';
      await expect(`make ${to}`, call('owner-member', 'PATCH', `/v2/images/${id}`, { patch: [{ op: 'replace', path: '/visibility', value: to }] }), [200]);
    }
    return id;
  };

  const created: string[] = [];
  const images: Record<string, number> = {};
  const lists: Record<string, string[]> = {};
  const creates: Record<string, number> = {};

  // Lists first, on one set of images nobody changes.
  const listed = new Map<string, ImageKind>();
  for (const kind of IMAGE_KINDS) {
    const id = await makeImage(kind, [tag]);
    created.push(id);
    listed.set(id, kind);
  }
  await pool(
    PERSONA_NAMES.flatMap((who) => LIST_FILTERS.map((filter) => ({ who, filter }))),
    opts.concurrency ?? 4,
    async ({ who, filter }) => {
      const query = [filter, `tag=${tag}`, 'limit=100'].filter((q) => q !== '').join('&');
      const r = await call(who, 'GET', `/v2/images?${query}`);
      const found =
        r.status === 200
          ? ((r.json as { images: { id: string }[] }).images.map((i) => listed.get(i.id)).filter((k) => k !== undefined) as string[])
          : [`HTTP ${r.status}`];
      lists[`${who}/${filter === '' ? '(none)' : filter}`] = found.sort();
    },
  );

  // One image per (kind, persona) cell.
  const cells = IMAGE_KINDS.flatMap((kind) => PERSONA_NAMES.map((who) => ({ kind, who })));
  let done = 0;
  await pool(cells, opts.concurrency ?? 4, async ({ kind, who }) => {
    const id = await makeImage(kind);
    created.push(id);
    const self = project(PERSONAS[who].project) ?? `${run}-nobody`;
    const steps: Record<Action, () => Promise<{ status: number }>> = {
      show: () => call(who, 'GET', `/v2/images/${id}`),
      download: () => call(who, 'GET', `/v2/images/${id}/file`),
      'members-list': () => call(who, 'GET', `/v2/images/${id}/members`),
      'member-show-accepted': () => call(who, 'GET', `/v2/images/${id}/members/${project('accepted')}`),
      'member-show-self': () => call(who, 'GET', `/v2/images/${id}/members/${self}`),
      'patch-property': () => call(who, 'PATCH', `/v2/images/${id}`, { patch: [{ op: 'add', path: '/rbac_prop', value: 'x' }] }),
      'visibility-unchanged': () =>
        call(who, 'PATCH', `/v2/images/${id}`, { patch: [{ op: 'replace', path: '/visibility', value: currentVisibility(kind) }] }),
      'tag-add': () => call(who, 'PUT', `/v2/images/${id}/tags/rbac`),
      'tag-delete': () => call(who, 'DELETE', `/v2/images/${id}/tags/rbac`),
      deactivate: () => call(who, 'POST', `/v2/images/${id}/actions/deactivate`),
      reactivate: () => call(who, 'POST', `/v2/images/${id}/actions/reactivate`),
      'upload-to-active': () => call(who, 'PUT', `/v2/images/${id}/file`, { bytes: 'more data' }),
      'member-update-self': () => call(who, 'PUT', `/v2/images/${id}/members/${self}`, { json: { status: 'accepted' } }),
      'member-add': () => call(who, 'POST', `/v2/images/${id}/members`, { json: { member: `${run}-new` } }),
      'member-delete-rejected': () => call(who, 'DELETE', `/v2/images/${id}/members/${project('rejected')}`),
      communitize: () => call(who, 'PATCH', `/v2/images/${id}`, { patch: [{ op: 'replace', path: '/visibility', value: 'community' }] }),
      publicize: () => call(who, 'PATCH', `/v2/images/${id}`, { patch: [{ op: 'replace', path: '/visibility', value: 'public' }] }),
      delete: () => call(who, 'DELETE', `/v2/images/${id}`),
    };
    for (const action of ACTIONS) images[`${kind}/${action}/${who}`] = (await steps[action]()).status;
    done++;
    if (done % 8 === 0) opts.log?.(`${done}/${cells.length} cells`);
  });

  // Creates.
  await pool(
    PERSONA_NAMES.flatMap((who) => (Object.keys(CREATE_VARIANTS) as CreateVariant[]).map((variant) => ({ who, variant }))),
    opts.concurrency ?? 4,
    async ({ who, variant }) => {
      const extra: Record<string, unknown> = { ...CREATE_VARIANTS[variant] };
      if (extra.owner === '{other}') extra.owner = project('other');
      const r = await call(who, 'POST', '/v2/images', { json: { name: `${run}-create`, ...extra } });
      creates[`${variant}/${who}`] = r.status;
      if (r.status === 201) created.push((r.json as { id: string }).id);
    },
  );

  // Leave nothing behind (an admin may delete anything, whichever defaults are enforced).
  for (const id of created) await call('admin-other-project', 'DELETE', `/v2/images/${id}`);
  return { images: sortKeys(images), lists: sortKeys(lists), creates: sortKeys(creates) };
}

function currentVisibility(kind: ImageKind): string {
  if (kind === 'shared-then-private') return 'private';
  if (kind === 'shared-then-community') return 'community';
  return kind;
}

async function pool<T>(items: readonly T[], size: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await work(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.max(1, size) }, worker));
}

function sortKeys<V>(record: Record<string, V>): Record<string, V> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
