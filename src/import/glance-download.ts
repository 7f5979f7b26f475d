/**
 * The remote Glance of a glance-download import, reached through the web-download fetcher: the
 * endpoint passes the same [import_filtering_opts] filter and address checks (Glance 25.1.0's
 * open_external_uri applies them to glance-download too), and the caller's token goes in
 * X-Auth-Token to the endpoint's origin only.
 */
import { text } from 'node:stream/consumers';
import { Invalid } from '../domain/errors.js';
import type { RemoteGlance, WebSource } from '../domain/ports.js';

/** An image's JSON is a few kilobytes; this bounds what a misbehaving remote can make Iris read. */
const METADATA_CAP = 1024 * 1024;

export function createRemoteGlance(web: Pick<WebSource, 'open'>): RemoteGlance {
  // Glance joins the catalog URL and the path as strings; so does Iris.
  const imageUrl = (endpoint: string, id: string) => `${endpoint}/v2/images/${id}`;
  const auth = (token: string) => ({ 'x-auth-token': token });
  return {
    async image(endpoint, id, token, { signal }) {
      const url = imageUrl(endpoint, id);
      const { stream } = await web.open(url, {
        sizeCap: METADATA_CAP,
        signal,
        headers: { ...auth(token), accept: 'application/json' },
      });
      const body = await text(stream);
      let parsed: unknown;
      try {
        parsed = JSON.parse(body);
      } catch (e) {
        throw new Invalid(`glance-download: ${url} did not answer JSON`, { cause: e });
      }
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
        throw new Invalid(`glance-download: ${url} did not answer an image`);
      }
      return parsed as Record<string, unknown>;
    },
    async open(endpoint, id, token, { sizeCap, signal }) {
      return (await web.open(`${imageUrl(endpoint, id)}/file`, { sizeCap, signal, headers: auth(token) })).stream;
    },
  };
}
