/**
 * Routes as data: each path lists its handlers per method, so the server can answer every
 * other method with 405 and the `Allow` header Glance sends.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
export type Handler = (request: FastifyRequest, reply: FastifyReply) => Promise<unknown>;

export interface RouteSpec {
  readonly path: string;
  readonly methods: Partial<Record<HttpMethod, Handler>>;
  /** Other methods are 404, not 405 (Glance routes a few paths without its method-rejecting resource). */
  readonly otherMethodsNotFound?: boolean;
}

export type RouteTable = RouteSpec[];
