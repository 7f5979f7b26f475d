#!/usr/bin/env -S node --initial-old-space-size=64
// Launcher for the API server: registers tsx so the TypeScript sources run without a build step.
// --initial-old-space-size=64 (also in package.json's start script and the systemd unit): without
// it V8 sometimes set the old generation's limit just above Iris's ~35 MB of live heap after
// start-up, and every upload then ran a full collection every few MiB (1.5-2 CPU s/GiB more;
// bench/RESULTS.md, session 8). Node refuses this flag in NODE_OPTIONS.
import { register } from 'tsx/esm/api';

register();
await import('../src/main.ts');
