/**
 * The payloads of Glance 25.1.0's notifications (glance/notifier.py's format_* functions),
 * from Iris's domain objects. Store locations are never part of a payload (they may carry
 * credentials). Pure: services call these and hand the result to the Notifier port.
 */
import type { Image } from '../domain/image.js';
import type { ImageMember } from '../domain/member.js';
import type { Task } from '../domain/task.js';

/** Glance's timeutils.isotime: seconds precision, `Z`; no time means now, as there. */
export function isotime(d: Date | null | undefined, now: Date = new Date()): string {
  return `${(d ?? now).toISOString().slice(0, 19)}Z`;
}

/** image.create / update / delete / prepare / upload / activate. */
export function imagePayload(image: Image): Record<string, unknown> {
  return {
    id: image.id,
    name: image.name,
    status: image.status,
    created_at: isotime(image.created_at),
    updated_at: isotime(image.updated_at),
    min_disk: image.min_disk,
    min_ram: image.min_ram,
    protected: image.protected,
    checksum: image.checksum,
    owner: image.owner,
    disk_format: image.disk_format,
    container_format: image.container_format,
    size: image.size,
    virtual_size: image.virtual_size,
    is_public: image.visibility === 'public',
    visibility: image.visibility,
    properties: { ...image.properties },
    tags: [...image.tags],
    deleted: false,
    deleted_at: null,
  };
}

/** What image.prepare and image.upload add: the import progress properties as lists. */
export function importProgressPayload(image: Image): Record<string, unknown> {
  const list = (name: string): string[] => {
    const value = image.properties[name];
    return value ? value.split(',') : [];
  };
  return {
    os_glance_importing_to_stores: list('os_glance_importing_to_stores'),
    os_glance_failed_import: list('os_glance_failed_import'),
  };
}

/** image.delete: the image as it was, marked deleted now. */
export function deletedImagePayload(image: Image, now: Date): Record<string, unknown> {
  return { ...imagePayload({ ...image, status: 'deleted' } as Image), deleted: true, deleted_at: isotime(now) };
}

/** image.send, sent once a download's last byte went out. */
export function imageSendPayload(image: Image, bytesSent: number, receiver: { projectId: string | null; userId: string | null }): Record<string, unknown> {
  return {
    bytes_sent: bytesSent,
    image_id: image.id,
    owner_id: image.owner,
    receiver_tenant_id: receiver.projectId,
    receiver_user_id: receiver.userId,
  };
}

/** image.member.create / update / delete. */
export function memberPayload(member: ImageMember, deletedAt?: Date): Record<string, unknown> {
  return {
    image_id: member.image_id,
    member_id: member.member_id,
    status: member.status,
    created_at: isotime(member.created_at),
    updated_at: isotime(member.updated_at),
    deleted: deletedAt !== undefined,
    deleted_at: deletedAt === undefined ? null : isotime(deletedAt),
  };
}

/** task.create / processing / success / failure. The input, result and message stay out (they may hold secrets). */
export function taskPayload(task: Task, now: Date = new Date()): Record<string, unknown> {
  return {
    id: task.id,
    type: task.type,
    status: task.status,
    result: null,
    owner: task.owner,
    message: null,
    expires_at: isotime(task.expires_at, now),
    created_at: isotime(task.created_at),
    updated_at: isotime(task.updated_at),
    deleted: false,
    deleted_at: null,
  };
}

/** The ids a task recorded of the request that created it: the context of its background notifications. */
export function taskContext(task: Task): { requestId: string | null; userId: string | null; projectId: string | null } {
  return { requestId: task.request_id, userId: task.user_id, projectId: task.owner === '' ? null : task.owner };
}
