/**
 * Prints the sample configuration file generated from CONFIG_OPTIONS:
 *   node --import tsx scripts/gen-config-sample.ts > etc/iris-api.conf.sample
 * With --markdown, prints the options table used in docs/configuration.md instead.
 * src/config/config-sample.test.ts fails when the committed files differ from this output.
 */
import { renderConfigSample, renderOptionsTable } from '../src/config/config-sample.js';

process.stdout.write(process.argv.includes('--markdown') ? renderOptionsTable() : renderConfigSample());
