/**
 * Bench only: preloaded (`--import`) into an Iris started by bench/servers.ts when BENCH_NO_FLUSH=1,
 * it turns every FileHandle sync/datasync into a no-op, to show what durability costs on the
 * machine. Never part of Iris itself, and no Iris option: a server without it always flushes.
 */
import { open } from 'node:fs/promises';

const handle = await open('/dev/null', 'r');
const proto = Object.getPrototypeOf(handle) as { sync: () => Promise<void>; datasync: () => Promise<void> };
await handle.close();
proto.sync = () => Promise.resolve();
proto.datasync = () => Promise.resolve();
process.stderr.write('[bench] BENCH_NO_FLUSH: FileHandle sync/datasync are no-ops in this process\n');
