#!/usr/bin/env bash
# Builds the DocC documentation of the KVMHarness library (Sources/KVMHarness/KVMHarness.docc and every public
# declaration's doc comment) with swift-docc-plugin, failing on any warning: a broken symbol link, a parameter
# documented under the wrong name, an article that does not resolve.
#
#   bash scripts/docs.sh            # writes .build-docs/plugins/Swift-DocC/outputs/KVMHarness.doccarchive
#   bash scripts/docs.sh --preview  # the same, served at http://localhost:8080 (swift-docc-plugin's preview)
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${1:-}" = "--preview" ]; then
    exec swift package --scratch-path .build-docs --disable-sandbox preview-documentation --target KVMHarness
fi
swift package --scratch-path .build-docs generate-documentation --target KVMHarness --warnings-as-errors
echo "docs.sh: documentation built without warnings"
