/**
 * Prints the default-rules table of docs/policy.md (between its policy-table markers),
 * generated from src/policy/glance-defaults.ts; src/policy/policy-docs.test.ts fails when
 * the committed table differs.
 */
import { renderPolicyTable } from '../src/policy/policy-docs.js';

process.stdout.write(renderPolicyTable());
