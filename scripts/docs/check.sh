#!/usr/bin/env bash
# npm run docs:check: the API reference in docs/api is complete and current. Fails (non-zero) when
#  - TypeDoc's validation warns (typedoc.json: an undocumented export, a broken {@link}, a type referenced by the
#    public API but exported by no entry point): every warning is an error;
#  - the committed docs/api differs from a fresh generation (regenerate with `npm run docs`; this never rewrites it);
#  - a relative link in docs/api or README.md names a file that does not exist.
set -euo pipefail
cd "$(dirname "$0")/../.."
fresh=$(mktemp -d "${TMPDIR:-/tmp}/airgap-k8s-docs.XXXXXX")
trap 'rm -rf "$fresh"' EXIT
npx typedoc --logLevel Warn --out "$fresh/api"
if ! diff -ru docs/api "$fresh/api" >"$fresh/diff.txt"; then
  echo "docs/api is not what \`npm run docs\` generates from the sources; run it and commit docs/api:" >&2
  head -n 60 "$fresh/diff.txt" >&2
  exit 1
fi
node scripts/docs/check-links.mjs docs/api README.md
echo "docs/api: current, every export documented"
