#!/usr/bin/env node
// Launcher for iris-scrubber: registers tsx so the TypeScript sources run without a build step.
import { register } from 'tsx/esm/api';

register();
const { runScrubber } = await import('../src/cli/iris-scrubber.ts');
process.exitCode = await runScrubber(process.argv.slice(2));
