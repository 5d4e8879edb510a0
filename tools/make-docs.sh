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
# The report of a skewed streaming run (its diagnosis first), as a browser shows it: a
# screenshot by headless Chromium, when it is installed.
if [ -x /usr/bin/chromium ]; then
    report=$(mktemp --suffix=.html) skewed=$(mktemp)
    # One word in two is "hot": the diagnosis names it, its receiver and the straggler.
    awk 'BEGIN { for (i = 0; i < 40000; i++) print "hot w" (i * 7919) % 2000 " hot x" i % 300 }' \
        > "$skewed"
    "$rill" run wordcount -p 4 --mode streaming --report "$report" -- --input "$skewed" >/dev/null
    rm -f "$skewed"
    /usr/bin/chromium --headless --no-sandbox --disable-gpu --hide-scrollbars \
        --user-data-dir="$(mktemp -d)" --window-size=1200,1500 \
        --screenshot="$PWD/$docs/report.png" "file://$report" 2>/dev/null
    rm -f "$report"
fi
echo "rill: diagrams written to $docs/"
