/**
 * The calls whose notifications are recorded from the real Glance
 * (scripts/record-peer-notifications.ts) and compared with Iris's (test/notify/): an image
 * lifecycle, a sharing flow, a glance-direct import and a failed web-download import. Each
 * returns once the server has finished the work (imports are polled to their end).
 */
const P1 = { 'X-Project-Id': 'p1', 'X-User-Id': 'u1', 'X-Roles': 'member,reader' };
const P2 = { 'X-Project-Id': 'p2', 'X-User-Id': 'u2', 'X-Roles': 'member,reader' };
const JSON_TYPE = { 'Content-Type': 'application/json' };
const DATA = Buffer.alloc(4096, 7);

async function call(base: string, method: string, path: string, opts: { headers?: Record<string, string>; body?: unknown; expect: number }): Promise<unknown> {
  const isBytes = Buffer.isBuffer(opts.body);
  const res = await fetch(`${base}${path}`, {
    method,
    headers: {
      ...(opts.body === undefined ? {} : isBytes ? { 'Content-Type': 'application/octet-stream' } : JSON_TYPE),
      ...(opts.headers ?? P1),
    },
    body: opts.body === undefined ? undefined : isBytes ? new Uint8Array(opts.body as Buffer) : JSON.stringify(opts.body),
  });
  const text = Buffer.from(await res.arrayBuffer());
  if (res.status !== opts.expect) throw new Error(`${method} ${path}: ${res.status} (expected ${opts.expect}): ${text.toString('utf8').slice(0, 500)}`);
  const type = res.headers.get('content-type') ?? '';
  return type.includes('json') && text.length > 0 ? JSON.parse(text.toString('utf8')) : text;
}

async function createImage(base: string, body: Record<string, unknown>): Promise<string> {
  const image = (await call(base, 'POST', '/v2/images', { body: { disk_format: 'raw', container_format: 'bare', ...body }, expect: 201 })) as { id: string };
  return image.id;
}

/** Polls the image's tasks until the newest one ended; returns its status. */
async function waitForTask(base: string, imageId: string, timeoutMs = 120_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const body = (await call(base, 'GET', `/v2/images/${imageId}/tasks`, { expect: 200 })) as { tasks: { status: string }[] };
    const status = body.tasks[0]?.status;
    if (status === 'success' || status === 'failure') {
      // The flow's last saves follow the task's end closely: wait for the image to settle.
      await waitForImage(base, imageId, deadline);
      return status;
    }
    if (Date.now() > deadline) throw new Error(`task of image ${imageId} did not end (status ${status})`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function waitForImage(base: string, imageId: string, deadline: number): Promise<void> {
  for (;;) {
    const image = (await call(base, 'GET', `/v2/images/${imageId}`, { expect: 200 })) as Record<string, unknown>;
    if ((image.status === 'active' || image.status === 'queued') && image.os_glance_import_task === undefined) return;
    if (Date.now() > deadline) throw new Error(`image ${imageId} did not settle (status ${String(image.status)})`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export interface ScenarioOptions {
  /** A URL nothing answers on (the failed web-download import). */
  readonly deadUrl: string;
}

export const SCENARIOS: Record<string, (base: string, opts: ScenarioOptions) => Promise<void>> = {
  async lifecycle(base) {
    const id = await createImage(base, { name: 'life', tags: ['t1'], foo: 'bar', visibility: 'private', min_ram: 64 });
    await call(base, 'PATCH', `/v2/images/${id}`, {
      headers: { ...P1, 'Content-Type': 'application/openstack-images-v2.1-json-patch' },
      body: [{ op: 'replace', path: '/name', value: 'life-2' }],
      expect: 200,
    });
    await call(base, 'PUT', `/v2/images/${id}/file`, { body: DATA, expect: 204 });
    await call(base, 'GET', `/v2/images/${id}/file`, { expect: 200 });
    await call(base, 'PUT', `/v2/images/${id}/tags/t2`, { expect: 204 });
    await call(base, 'POST', `/v2/images/${id}/actions/deactivate`, { headers: { ...P1, 'X-Roles': 'admin' }, expect: 204 });
    await call(base, 'POST', `/v2/images/${id}/actions/reactivate`, { headers: { ...P1, 'X-Roles': 'admin' }, expect: 204 });
    await call(base, 'DELETE', `/v2/images/${id}`, { expect: 204 });
  },

  async sharing(base) {
    const id = await createImage(base, { name: 'shared', visibility: 'shared' });
    await call(base, 'POST', `/v2/images/${id}/members`, { body: { member: 'p2' }, expect: 200 });
    await call(base, 'PUT', `/v2/images/${id}/members/p2`, { headers: P2, body: { status: 'accepted' }, expect: 200 });
    await call(base, 'DELETE', `/v2/images/${id}/members/p2`, { expect: 204 });
    await call(base, 'DELETE', `/v2/images/${id}`, { expect: 204 });
  },

  async import(base) {
    const id = await createImage(base, { name: 'direct' });
    await call(base, 'PUT', `/v2/images/${id}/stage`, { body: DATA, expect: 204 });
    await call(base, 'POST', `/v2/images/${id}/import`, { body: { method: { name: 'glance-direct' } }, expect: 202 });
    const status = await waitForTask(base, id);
    if (status !== 'success') throw new Error(`glance-direct import ended ${status}`);
  },

  async failedImport(base, opts) {
    const id = await createImage(base, { name: 'web' });
    await call(base, 'POST', `/v2/images/${id}/import`, { body: { method: { name: 'web-download', uri: opts.deadUrl } }, expect: 202 });
    const status = await waitForTask(base, id);
    if (status !== 'failure') throw new Error(`web-download of a dead URL ended ${status}`);
  },
};
