/**
 * librados/librbd (Debian's librados2 and librbd1, Ceph ≥ 16) called in-process through the
 * koffi FFI: the only module that knows their C API. There is no librbd binding on npm and the
 * `rbd` CLI cannot read a byte range.
 *
 * Every call that can wait on the network runs on libuv's thread pool (koffi `.async`), never on
 * the event loop. A pool thread is held for the whole call, and the pool (UV_THREADPOOL_SIZE,
 * default 4) also serves fs, dns and zlib: librbd calls are therefore bounded process-wide to
 * the pool size minus two, so a burst of RBD I/O cannot starve the rest of the server.
 *
 * @example
 *   const cluster = await RadosCluster.connect({ conf: '/etc/ceph/ceph.conf', user: 'glance', connectTimeoutSec: 0 });
 *   const io = await cluster.ioctx('images');
 *   const image = await io.open('<image id>', { snap: 'snap', readOnly: true });
 *   const bytes = await image.read(0, 4096);
 *   await image.close();
 */
import { constants } from 'node:os';
import { promisify } from 'node:util';
import koffi from 'koffi';

/** A failed librados/librbd call: `code` is the errno name (`ENOENT`, `EBUSY`…). */
export class RbdError extends Error {
  readonly errno: number;
  readonly code: string;
  constructor(
    readonly op: string,
    rc: number,
  ) {
    const code = ERRNO_NAMES.get(-rc) ?? `errno ${-rc}`;
    super(`${op} failed: ${code}`);
    this.name = 'RbdError';
    this.errno = -rc;
    this.code = code;
  }
}

const ERRNO_NAMES = new Map<number, string>(Object.entries(constants.errno).map(([name, n]) => [n, name]));

/** librbd's image feature bits (librbd.h RBD_FEATURE_*). */
export const RBD_FEATURE_LAYERING = 1;
/** rbd_read2/rbd_write2 op flag: tell the OSD the access is sequential. */
const OP_FADVISE_SEQUENTIAL = 0x8;

// ---- the C API ------------------------------------------------------------------------------

type Handle = unknown;
type AsyncFn = (...args: unknown[]) => Promise<unknown>;

interface Api {
  sync: Record<string, (...args: unknown[]) => unknown>;
  async: Record<string, AsyncFn>;
}

let api: Api | undefined;

/** Loads the libraries on first use, so that a server without rbd stores never needs them. */
function lib(): Api {
  if (api) return api;
  const rados = koffi.load('librados.so.2');
  const rbd = koffi.load('librbd.so.1');
  koffi.pointer('rados_t', koffi.opaque());
  koffi.pointer('rados_ioctx_t', koffi.opaque());
  koffi.pointer('rbd_image_t', koffi.opaque());
  koffi.struct('iris_timespec', { tv_sec: 'int64_t', tv_nsec: 'long' });
  const decl = {
    rados_create2: [rados, 'int rados_create2(_Out_ rados_t *cluster, const char *clustername, const char *name, uint64_t flags)'],
    rados_conf_read_file: [rados, 'int rados_conf_read_file(rados_t cluster, const char *path)'],
    rados_conf_set: [rados, 'int rados_conf_set(rados_t cluster, const char *option, const char *value)'],
    rados_conf_get: [rados, 'int rados_conf_get(rados_t cluster, const char *option, _Out_ uint8_t *buf, size_t len)'],
    rados_connect: [rados, 'int rados_connect(rados_t cluster)'],
    rados_cluster_fsid: [rados, 'int rados_cluster_fsid(rados_t cluster, _Out_ uint8_t *buf, size_t len)'],
    rados_shutdown: [rados, 'void rados_shutdown(rados_t cluster)'],
    rados_ioctx_create: [rados, 'int rados_ioctx_create(rados_t cluster, const char *pool, _Out_ rados_ioctx_t *io)'],
    rados_ioctx_destroy: [rados, 'void rados_ioctx_destroy(rados_ioctx_t io)'],
    rbd_create2: [rbd, 'int rbd_create2(rados_ioctx_t io, const char *name, uint64_t size, uint64_t features, _Inout_ int *order)'],
    rbd_open: [rbd, 'int rbd_open(rados_ioctx_t io, const char *name, _Out_ rbd_image_t *image, const char *snap)'],
    rbd_open_read_only: [rbd, 'int rbd_open_read_only(rados_ioctx_t io, const char *name, _Out_ rbd_image_t *image, const char *snap)'],
    rbd_close: [rbd, 'int rbd_close(rbd_image_t image)'],
    rbd_remove: [rbd, 'int rbd_remove(rados_ioctx_t io, const char *name)'],
    rbd_rename: [rbd, 'int rbd_rename(rados_ioctx_t io, const char *srcname, const char *destname)'],
    rbd_list: [rbd, 'int rbd_list(rados_ioctx_t io, _Out_ uint8_t *names, _Inout_ size_t *size)'],
    rbd_get_size: [rbd, 'int rbd_get_size(rbd_image_t image, _Out_ uint64_t *size)'],
    rbd_resize: [rbd, 'int rbd_resize(rbd_image_t image, uint64_t size)'],
    rbd_read2: [rbd, 'int64_t rbd_read2(rbd_image_t image, uint64_t ofs, size_t len, _Out_ uint8_t *buf, int op_flags)'],
    rbd_write2: [rbd, 'int64_t rbd_write2(rbd_image_t image, uint64_t ofs, size_t len, const uint8_t *buf, int op_flags)'],
    rbd_flush: [rbd, 'int rbd_flush(rbd_image_t image)'],
    rbd_snap_create: [rbd, 'int rbd_snap_create(rbd_image_t image, const char *snapname)'],
    rbd_snap_protect: [rbd, 'int rbd_snap_protect(rbd_image_t image, const char *snapname)'],
    rbd_snap_unprotect: [rbd, 'int rbd_snap_unprotect(rbd_image_t image, const char *snapname)'],
    rbd_snap_remove: [rbd, 'int rbd_snap_remove(rbd_image_t image, const char *snapname)'],
    rbd_snap_set: [rbd, 'int rbd_snap_set(rbd_image_t image, const char *snapname)'],
    rbd_list_children3: [rbd, 'int rbd_list_children3(rbd_image_t image, void *images, _Inout_ size_t *max_images)'],
    rbd_clone: [
      rbd,
      'int rbd_clone(rados_ioctx_t p_ioctx, const char *p_name, const char *p_snapname, rados_ioctx_t c_ioctx, const char *c_name, uint64_t features, _Inout_ int *c_order)',
    ],
    rbd_get_create_timestamp: [rbd, 'int rbd_get_create_timestamp(rbd_image_t image, _Out_ iris_timespec *timestamp)'],
    rbd_get_modify_timestamp: [rbd, 'int rbd_get_modify_timestamp(rbd_image_t image, _Out_ iris_timespec *timestamp)'],
  } as const;
  const sync: Api['sync'] = {};
  const async: Api['async'] = {};
  for (const [name, [library, signature]] of Object.entries(decl)) {
    const fn = library.func(signature);
    sync[name] = fn as (...args: unknown[]) => unknown;
    async[name] = promisify(fn.async) as AsyncFn;
  }
  api = { sync, async };
  return api;
}

// ---- bounding the calls on the libuv pool ---------------------------------------------------

const poolSize = Number.parseInt(process.env.UV_THREADPOOL_SIZE ?? '', 10) || 4;
/** librbd calls running at once, process-wide: two pool threads stay free for fs and dns. */
export const MAX_LIBRBD_CALLS = Math.max(2, poolSize - 2);
let running = 0;
const waiting: Array<() => void> = [];

/** Runs a blocking librbd/librados function on the libuv pool, at most MAX_LIBRBD_CALLS at once. */
async function call(name: string, ...args: unknown[]): Promise<number> {
  if (running >= MAX_LIBRBD_CALLS) await new Promise<void>((resolve) => waiting.push(resolve));
  running += 1;
  try {
    return Number(await lib().async[name]!(...args));
  } finally {
    running -= 1;
    waiting.shift()?.();
  }
}

function check(op: string, rc: number): number {
  if (rc < 0) throw new RbdError(op, rc);
  return rc;
}

function cString(buf: Buffer): string {
  const end = buf.indexOf(0);
  return buf.subarray(0, end < 0 ? buf.length : end).toString('utf8');
}

// ---- the objects ----------------------------------------------------------------------------

export interface RadosConnectOptions {
  /** ceph.conf path; null = librados's default search (CEPH_CONF, /etc/ceph/ceph.conf, …). */
  readonly conf: string | null;
  /** RADOS user without `client.`; null = librados's default (admin). */
  readonly user: string | null;
  /** Seconds; ≤ 0 = librados's default. */
  readonly connectTimeoutSec: number;
}

/** One connection to a Ceph cluster (thread-safe: shared by every request of a store). */
export class RadosCluster {
  private constructor(private readonly handle: Handle) {}

  static async connect(opts: RadosConnectOptions): Promise<RadosCluster> {
    const { sync } = lib();
    const out: Handle[] = [null];
    check('rados_create2', Number(sync.rados_create2!(out, 'ceph', opts.user === null ? null : `client.${opts.user}`, 0)));
    const handle = out[0];
    try {
      // Like librados's own default when no file is named: search the usual places.
      check('rados_conf_read_file', Number(sync.rados_conf_read_file!(handle, opts.conf)));
      if (opts.connectTimeoutSec > 0) {
        check('rados_conf_set client_mount_timeout', Number(sync.rados_conf_set!(handle, 'client_mount_timeout', String(opts.connectTimeoutSec))));
      }
      check('rados_connect', await call('rados_connect', handle));
    } catch (err) {
      sync.rados_shutdown!(handle);
      throw err;
    }
    return new RadosCluster(handle);
  }

  fsid(): string {
    const buf = Buffer.alloc(64);
    const n = check('rados_cluster_fsid', Number(lib().sync.rados_cluster_fsid!(this.handle, buf, buf.length)));
    return buf.subarray(0, n).toString('utf8');
  }

  /** A configuration value as librados sees it (ceph.conf, defaults), or null when unknown. */
  confGet(option: string): string | null {
    const buf = Buffer.alloc(4096);
    const rc = Number(lib().sync.rados_conf_get!(this.handle, option, buf, buf.length));
    return rc < 0 ? null : cString(buf);
  }

  async ioctx(pool: string): Promise<IoCtx> {
    const out: Handle[] = [null];
    check('rados_ioctx_create', await call('rados_ioctx_create', this.handle, pool, out));
    return new IoCtx(out[0], pool);
  }

  shutdown(): void {
    lib().sync.rados_shutdown!(this.handle);
  }
}

/** A pool opened for I/O. */
export class IoCtx {
  constructor(
    readonly handle: Handle,
    readonly pool: string,
  ) {}

  async create(name: string, size: number, features: number, order: number): Promise<void> {
    check(`rbd_create2 ${this.pool}/${name}`, await call('rbd_create2', this.handle, name, size, features, [order]));
  }

  /** Opens an image, at `snap` when given (read-only then, as librbd makes snapshots). */
  async open(name: string, opts: { readonly snap?: string | null; readonly readOnly?: boolean } = {}): Promise<RbdImage> {
    const out: Handle[] = [null];
    const fn = opts.readOnly ? 'rbd_open_read_only' : 'rbd_open';
    check(`${fn} ${this.pool}/${name}`, await call(fn, this.handle, name, out, opts.snap ?? null));
    return new RbdImage(out[0], `${this.pool}/${name}`);
  }

  async remove(name: string): Promise<void> {
    check(`rbd_remove ${this.pool}/${name}`, await call('rbd_remove', this.handle, name));
  }

  async rename(from: string, to: string): Promise<void> {
    check(`rbd_rename ${this.pool}/${from}`, await call('rbd_rename', this.handle, from, to));
  }

  /** Names of the pool's images. */
  async list(): Promise<string[]> {
    let size = 4096;
    for (;;) {
      const buf = Buffer.alloc(size);
      const inout = [size];
      const rc = await call('rbd_list', this.handle, buf, inout);
      if (rc === -constants.errno.ERANGE) {
        size = Math.max(Number(inout[0]), size * 2);
        continue;
      }
      check(`rbd_list ${this.pool}`, rc);
      return buf
        .subarray(0, rc)
        .toString('utf8')
        .split('\0')
        .filter((n) => n !== '');
    }
  }

  /** A copy-on-write clone of `parent@snap` (what Nova and Cinder do with Glance's images). */
  async clone(parent: string, snap: string, child: string, features = RBD_FEATURE_LAYERING, order = 0): Promise<void> {
    check(`rbd_clone ${this.pool}/${parent}@${snap}`, await call('rbd_clone', this.handle, parent, snap, this.handle, child, features, [order]));
  }

  destroy(): void {
    lib().sync.rados_ioctx_destroy!(this.handle);
  }
}

/** An open RBD image. Calls may overlap; close() only after every call has returned. */
export class RbdImage {
  constructor(
    private readonly handle: Handle,
    readonly spec: string,
  ) {}

  async size(): Promise<number> {
    const out = [0];
    check(`rbd_get_size ${this.spec}`, await call('rbd_get_size', this.handle, out));
    return Number(out[0]);
  }

  async resize(size: number): Promise<void> {
    check(`rbd_resize ${this.spec}`, await call('rbd_resize', this.handle, size));
  }

  /** Reads `buf.length` bytes at `offset` into `buf`; returns the part filled. */
  async read(offset: number, buf: Buffer): Promise<Buffer> {
    const n = check(`rbd_read2 ${this.spec}`, await call('rbd_read2', this.handle, offset, buf.length, buf, OP_FADVISE_SEQUENTIAL));
    return n === buf.length ? buf : buf.subarray(0, n);
  }

  async write(offset: number, buf: Buffer): Promise<void> {
    const n = check(`rbd_write2 ${this.spec}`, await call('rbd_write2', this.handle, offset, buf.length, buf, 0));
    if (n !== buf.length) throw new Error(`rbd_write2 ${this.spec}: ${n} of ${buf.length} bytes written`);
  }

  async flush(): Promise<void> {
    check(`rbd_flush ${this.spec}`, await call('rbd_flush', this.handle));
  }

  async snapCreate(snap: string): Promise<void> {
    check(`rbd_snap_create ${this.spec}@${snap}`, await call('rbd_snap_create', this.handle, snap));
  }

  async snapProtect(snap: string): Promise<void> {
    check(`rbd_snap_protect ${this.spec}@${snap}`, await call('rbd_snap_protect', this.handle, snap));
  }

  async snapUnprotect(snap: string): Promise<void> {
    check(`rbd_snap_unprotect ${this.spec}@${snap}`, await call('rbd_snap_unprotect', this.handle, snap));
  }

  async snapRemove(snap: string): Promise<void> {
    check(`rbd_snap_remove ${this.spec}@${snap}`, await call('rbd_snap_remove', this.handle, snap));
  }

  /** How many images are cloned from `snap` (the handle is moved back to the head after). */
  async childCount(snap: string): Promise<number> {
    check(`rbd_snap_set ${this.spec}@${snap}`, await call('rbd_snap_set', this.handle, snap));
    try {
      const max = [0];
      const rc = await call('rbd_list_children3', this.handle, null, max);
      if (rc === -constants.errno.ERANGE) return Number(max[0]);
      check(`rbd_list_children3 ${this.spec}@${snap}`, rc);
      return Number(max[0]);
    } finally {
      check(`rbd_snap_set ${this.spec}`, await call('rbd_snap_set', this.handle, null));
    }
  }

  /** When the image was last written (librbd updates it at most once a minute), or created. */
  async modifiedAt(): Promise<Date> {
    const created = { tv_sec: 0, tv_nsec: 0 };
    const modified = { tv_sec: 0, tv_nsec: 0 };
    check(`rbd_get_create_timestamp ${this.spec}`, await call('rbd_get_create_timestamp', this.handle, created));
    check(`rbd_get_modify_timestamp ${this.spec}`, await call('rbd_get_modify_timestamp', this.handle, modified));
    const ms = (t: { tv_sec: number | bigint; tv_nsec: number | bigint }): number => Number(t.tv_sec) * 1000 + Math.floor(Number(t.tv_nsec) / 1e6);
    return new Date(Math.max(ms(created), ms(modified)));
  }

  async close(): Promise<void> {
    check(`rbd_close ${this.spec}`, await call('rbd_close', this.handle));
  }
}
