#!/usr/bin/env node
// Launcher for iris-manage: registers tsx so the TypeScript sources run without a build step.
import { register } from 'tsx/esm/api';

register();
const { runManage } = await import('../src/cli/iris-manage.ts');
process.exitCode = await runManage(process.argv.slice(2));
