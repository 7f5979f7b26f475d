#!/usr/bin/env bash
# Regenerates etc/iris-api.conf.sample and the options table in docs/configuration.md
# from the option table (src/config/config-options.ts). Run after changing an option.
set -euo pipefail
cd "$(dirname "$0")/.."
node --import tsx scripts/gen-config-sample.ts > etc/iris-api.conf.sample
table=$(node --import tsx scripts/gen-config-sample.ts --markdown)
TABLE="$table" node -e '
const fs = require("fs");
const doc = fs.readFileSync("docs/configuration.md", "utf8");
const out = doc.replace(/(<!-- options-table:start -->\n)[\s\S]*?(<!-- options-table:end -->)/, (_, a, b) => a + process.env.TABLE.trim() + "\n" + b);
fs.writeFileSync("docs/configuration.md", out);
'
