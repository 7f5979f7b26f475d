/** /v2/images/{id}/members: share an image, list, show, answer, stop sharing. Thin: parse, call, render. */
import type { ImageMember } from '../../domain/member.js';
import { isoTime } from '../image-view.js';
import { readJsonBody, sendJson, type HttpDeps } from '../http-context.js';
import type { RouteTable } from '../route-table.js';

type ImageParams = { id: string };
type MemberParams = { id: string; member_id: string };

/** A membership on the wire, keys in the order Glance's serializer writes them. */
export function memberView(member: ImageMember): Record<string, unknown> {
  return {
    member_id: member.member_id,
    image_id: member.image_id,
    status: member.status,
    created_at: isoTime(member.created_at),
    updated_at: isoTime(member.updated_at),
    schema: '/v2/schemas/member',
  };
}

export function memberRoutes(deps: HttpDeps): RouteTable {
  const { members } = deps;

  return [
    {
      path: '/v2/images/:id/members',
      methods: {
        GET: async (req, reply) => {
          const { id } = req.params as ImageParams;
          const list = await members.list(deps.contextOf(req), id);
          return sendJson(reply, 200, { members: list.map(memberView), schema: '/v2/schemas/members' });
        },
        POST: async (req, reply) => {
          const { id } = req.params as ImageParams;
          const ctx = deps.contextOf(req);
          // Glance answers a new membership with 200, not 201, and no Location.
          return sendJson(reply, 200, memberView(await members.add(ctx, id, await readJsonBody(deps.bodies, req))));
        },
      },
    },
    {
      path: '/v2/images/:id/members/:member_id',
      methods: {
        GET: async (req, reply) => {
          const { id, member_id } = req.params as MemberParams;
          return sendJson(reply, 200, memberView(await members.show(deps.contextOf(req), id, member_id)));
        },
        PUT: async (req, reply) => {
          const { id, member_id } = req.params as MemberParams;
          const ctx = deps.contextOf(req);
          const member = await members.updateStatus(ctx, id, member_id, await readJsonBody(deps.bodies, req));
          return sendJson(reply, 200, memberView(member));
        },
        DELETE: async (req, reply) => {
          const { id, member_id } = req.params as MemberParams;
          await members.remove(deps.contextOf(req), id, member_id);
          // Glance's controller builds this 204 itself (webob.Response(body='')): no
          // Content-Type, unlike its other 204s (sendNoContent).
          return reply.code(204).send();
        },
      },
    },
  ];
}
