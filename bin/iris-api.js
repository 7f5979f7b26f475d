#!/usr/bin/env node
// Launcher for the API server: registers tsx so the TypeScript sources run without a build step.
import { register } from 'tsx/esm/api';

register();
await import('../src/main.ts');
