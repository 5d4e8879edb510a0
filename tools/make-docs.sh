#!/usr/bin/env bash
# Regenerates the diagrams README.md shows: `make docs` (tools/make-docs.sh RILL DOCS_DIR).
set -euo pipefail
rill=${1:-build/bin/rill}
docs=${2:-docs}
mkdir -p "$docs"
text=data/declaration-of-independence.txt
for view in logical parallel; do
    "$rill" plan seed-example -p 2 --view "$view" -o "$docs/seed-example-$view.svg"
    "$rill" plan wordcount -p 2 --view "$view" -o "$docs/wordcount-$view.svg" -- --input "$text"
done
# A flow diagram from a real run: channel volume, backpressure, the exchange matrix.
metrics=$(mktemp)
"$rill" run wordcount -p 3 --metrics-json "$metrics" -- --input "$text" >/dev/null
"$rill" viz "$metrics" --view parallel -o "$docs/wordcount-flow.svg"
rm -f "$metrics"
echo "rill: diagrams written to $docs/"
