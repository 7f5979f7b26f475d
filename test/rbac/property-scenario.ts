/**
 * Property protections scenario: for each protected property and caller, what create,
 * read, update (replace, and add over an existing value), delete and an unrelated update
 * do. Runs against any Glance-compatible server with `hybrid` authentication and a
 * property protection file loaded (property-protections-roles.conf or -policies.conf).
 * Every callers' project owns the images it touches, so ownership never decides; only the
 * protections do.
 */
import { randomBytes } from 'node:crypto';

/** Callers, all in the image owner's project; `roles` as sent in X-Roles. */
export const PROPERTY_PERSONAS = {
  admin: ['admin'],
  member: ['member'],
  reader: ['reader'],
  'member-reader': ['member', 'reader'],
  observer: ['observer'],
} as const;
export type PropertyPersona = keyof typeof PROPERTY_PERSONAS;

export const PROTECTED_PROPERTIES = ['x_billing_code', 'x_owner_tag', 'x_secret', 'x_frozen_flag', 'x_other'] as const;

/** The steps, in order, each on the cell's own image (made by `admin` with the property set). */
export const PROPERTY_STEPS = {
  create: 'POST /v2/images with the property',
  read: 'GET /v2/images/{id}: is the property shown?',
  'read-in-list': 'GET /v2/images?id={id}: is the property shown?',
  'replace-other': 'PATCH replace /name (another attribute)',
  'kept-after-other': 'GET as admin after that: is the property still there?',
  replace: 'PATCH replace /<property>',
  'add-existing': 'PATCH add /<property> (it exists)',
  remove: 'PATCH remove /<property>',
  'kept-after-remove': 'GET as admin after that: is the property still there?',
} as const;
export type PropertyStep = keyof typeof PROPERTY_STEPS;

/** `property/persona/step` → HTTP status, or `shown` / `hidden` / `kept` / `gone`. */
export type PropertyResult = Record<string, number | string>;

export async function runPropertyScenario(baseUrl: string): Promise<PropertyResult> {
  const run = `pp${randomBytes(4).toString('hex')}`;
  const project = `${run}-owner`;
  const call = async (who: PropertyPersona, method: string, path: string, body?: unknown, patch = false) => {
    const headers: Record<string, string> = {
      accept: 'application/json',
      'x-project-id': project,
      'x-roles': PROPERTY_PERSONAS[who].join(','),
      'x-user-id': `${run}-${who}`,
    };
    if (body !== undefined) headers['content-type'] = patch ? 'application/openstack-images-v2.1-json-patch' : 'application/json';
    const r = await fetch(`${baseUrl}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(30_000) });
    const text = await r.text();
    let json: Record<string, unknown> = {};
    try {
      json = text === '' ? {} : (JSON.parse(text) as Record<string, unknown>);
    } catch {
      json = {};
    }
    return { status: r.status, json };
  };
  const created: string[] = [];
  const out: PropertyResult = {};
  for (const property of PROTECTED_PROPERTIES) {
    for (const who of Object.keys(PROPERTY_PERSONAS) as PropertyPersona[]) {
      const key = (step: PropertyStep) => `${property}/${who}/${step}`;
      const made = await call(who, 'POST', '/v2/images', { name: `${run}-create`, [property]: 'v0' });
      out[key('create')] = made.status;
      if (made.status === 201) created.push(made.json.id as string);

      const setup = await call('admin', 'POST', '/v2/images', { name: `${run}-cell`, [property]: 'v1' });
      if (setup.status !== 201) throw new Error(`admin could not create an image with ${property}: ${setup.status}`);
      const id = setup.json.id as string;
      created.push(id);
      const has = async (as: PropertyPersona) => Object.hasOwn((await call(as, 'GET', `/v2/images/${id}`)).json, property);
      out[key('read')] = (await has(who)) ? 'shown' : 'hidden';
      const listed = (await call(who, 'GET', `/v2/images?id=${id}`)).json.images as Record<string, unknown>[] | undefined;
      out[key('read-in-list')] = listed?.[0] && Object.hasOwn(listed[0], property) ? 'shown' : 'hidden';
      out[key('replace-other')] = (await call(who, 'PATCH', `/v2/images/${id}`, [{ op: 'replace', path: '/name', value: 'renamed' }], true)).status;
      out[key('kept-after-other')] = (await has('admin')) ? 'kept' : 'gone';
      out[key('replace')] = (await call(who, 'PATCH', `/v2/images/${id}`, [{ op: 'replace', path: `/${property}`, value: 'v2' }], true)).status;
      out[key('add-existing')] = (await call(who, 'PATCH', `/v2/images/${id}`, [{ op: 'add', path: `/${property}`, value: 'v3' }], true)).status;
      out[key('remove')] = (await call(who, 'PATCH', `/v2/images/${id}`, [{ op: 'remove', path: `/${property}` }], true)).status;
      out[key('kept-after-remove')] = (await has('admin')) ? 'kept' : 'gone';
    }
  }
  for (const id of created) await call('admin', 'DELETE', `/v2/images/${id}`);
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
