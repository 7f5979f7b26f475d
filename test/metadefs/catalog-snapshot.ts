/**
 * Every answer of the metadefs API about the catalog, taken from a running server (Iris or the
 * real Glance) and normalised so that two servers holding the same definitions compare equal:
 * times become "<time>", lists whose order depends on load order are sorted by name.
 * scripts/record-metadefs-fixture.ts records the peer's snapshot into
 * test/fixtures/metadefs/stock.json; test/metadefs/stock.test.ts compares Iris's with it.
 */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

const ADMIN = { 'X-Project-Id': 'project-admin', 'X-Roles': 'admin,member,reader', 'X-User-Id': 'admin', Accept: 'application/json' };
const READER = { 'X-Project-Id': 'project-r', 'X-Roles': 'member,reader', 'X-User-Id': 'user-r', Accept: 'application/json' };

/**
 * Times out, key order kept; resource type associations sorted by name (both servers list
 * them in storage order, which depends on what was loaded before).
 */
export function normalise(value: Json): Json {
  if (Array.isArray(value)) return value.map(normalise);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [
        k,
        k === 'created_at' || k === 'updated_at' ? '<time>' : k === 'resource_type_associations' ? normalise(sortedArray(v, 'name')) : normalise(v),
      ]),
    );
  }
  return value;
}

const byName = (key: string) => (a: Json, b: Json) => {
  const x = String((a as Record<string, Json>)[key]);
  const y = String((b as Record<string, Json>)[key]);
  return x < y ? -1 : x > y ? 1 : 0;
};

async function get(base: string, path: string, headers: Record<string, string>): Promise<{ status: number; body: Json }> {
  const res = await fetch(`${base}${path}`, { headers, signal: AbortSignal.timeout(60_000) });
  const text = await res.text();
  return { status: res.status, body: text === '' ? null : (JSON.parse(text) as Json) };
}

const sortedArray = (value: Json, key: string): Json => (Array.isArray(value) ? [...value].sort(byName(key)) : value);

/** The catalog as an admin and a reader of another project see it. */
export async function snapshotCatalog(base: string): Promise<Record<string, Json>> {
  const out: Record<string, Json> = {};
  const list = await get(base, '/v2/metadefs/namespaces?limit=1000', ADMIN);
  const listBody = list.body as Record<string, Json>;
  const namespaces = (listBody.namespaces as Json[]).sort(byName('namespace'));
  out['GET /v2/metadefs/namespaces (admin)'] = normalise({ ...listBody, namespaces });
  const readerList = await get(base, '/v2/metadefs/namespaces?limit=1000', READER);
  out['GET /v2/metadefs/namespaces (reader)'] = ((readerList.body as Record<string, Json>).namespaces as Json[])
    .map((n) => (n as Record<string, Json>).namespace!)
    .sort();
  const types = await get(base, '/v2/metadefs/resource_types', ADMIN);
  out['GET /v2/metadefs/resource_types'] = normalise(sortedArray((types.body as Record<string, Json>).resource_types!, 'name'));
  for (const ns of namespaces) {
    const name = String((ns as Record<string, Json>).namespace);
    const path = `/v2/metadefs/namespaces/${encodeURIComponent(name)}`;
    const shown = (await get(base, path, ADMIN)).body as Record<string, Json>;
    out[`GET ${path}`] = normalise({ ...shown, objects: sortedArray(shown.objects ?? null, 'name') });
    const assocs = (shown.resource_type_associations as Json[] | undefined) ?? [];
    for (const a of assocs) {
      const rt = String((a as Record<string, Json>).name);
      const prefixed = (await get(base, `${path}?resource_type=${encodeURIComponent(rt)}`, ADMIN)).body as Record<string, Json>;
      out[`GET ${path}?resource_type=${rt}`] = normalise({ ...prefixed, objects: sortedArray(prefixed.objects ?? null, 'name') });
    }
    const objects = (await get(base, `${path}/objects`, ADMIN)).body as Record<string, Json>;
    out[`GET ${path}/objects`] = normalise({ ...objects, objects: sortedArray(objects.objects!, 'name') });
    out[`GET ${path}/properties`] = normalise((await get(base, `${path}/properties`, ADMIN)).body);
    const tags = (await get(base, `${path}/tags`, ADMIN)).body as Record<string, Json>;
    out[`GET ${path}/tags`] = normalise({ ...tags, tags: sortedArray(tags.tags!, 'name') });
    out[`GET ${path}/resource_types`] = normalise((await get(base, `${path}/resource_types`, ADMIN)).body);
    // One property and one object by name, when there are some.
    const firstProperty = Object.keys((shown.properties as Record<string, Json> | undefined) ?? {}).sort()[0];
    if (firstProperty !== undefined) out[`GET ${path}/properties/${firstProperty}`] = normalise((await get(base, `${path}/properties/${encodeURIComponent(firstProperty)}`, ADMIN)).body);
    const firstObject = (sortedArray(shown.objects ?? [], 'name') as Record<string, Json>[])[0]?.name;
    if (firstObject !== undefined) out[`GET ${path}/objects/${String(firstObject)}`] = normalise((await get(base, `${path}/objects/${encodeURIComponent(String(firstObject))}`, ADMIN)).body);
  }
  for (const name of ['namespace', 'namespaces', 'resource_type', 'resource_types', 'property', 'properties', 'object', 'objects', 'tag', 'tags']) {
    out[`GET /v2/schemas/metadefs/${name}`] = (await get(base, `/v2/schemas/metadefs/${name}`, ADMIN)).body;
  }
  return out;
}
