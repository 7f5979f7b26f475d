#!/usr/bin/env node
// Launcher for the iris CLI: registers tsx so the TypeScript sources run without a build step.
import { register } from 'tsx/esm/api';

register();
const { runIris } = await import('../src/cli/iris.ts');
process.exitCode = await runIris(process.argv.slice(2));
