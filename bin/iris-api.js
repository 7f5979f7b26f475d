#!/usr/bin/env -S node --initial-old-space-size=64 --max-semi-space-size=8 --heap-growing-percent=100
// Launcher for the API server: runs dist/ (the sources with their types stripped, rebuilt here
// when any source changed: bin/build-dist.js), or the TypeScript sources under tsx when dist/
// cannot be written.
// The V8 flags (also in package.json's start script and the systemd unit): without them V8
// sometimes kept the old generation's limit so close to Iris's ~35 MB of live heap that
// incremental marking restarted as soon as a collection ended (it starts when less old space is
// left than the young generation holds), and an upload ran a full collection every few MiB:
// 16-34 of them and 1.1-2 GC CPU s/GiB, against 2-3 and 0.1-0.4 with the flags, same runs
// (bench/RESULTS.md, session 8). A 64 MB initial old space, an 8 MB semi-space (16 by default)
// and a fixed growth factor of 2 after each full collection (V8 picks 1.1-4 from its own speed
// estimates) keep that margin; metadata requests cost no more CPU. Node refuses them in NODE_OPTIONS.
import { prepareDist } from './build-dist.js';

const main = await prepareDist();
if (main === undefined) {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/main.ts');
} else {
  await import(main);
}
