/*  rill_report_script.c: what makes the report interactive, kept apart from the page's
    content (rill_report.c): the style sheet, the counters the script reads (inline JSON), and
    the script itself, all inline, so the page stays one file that needs no network. The
    script sorts tables, pans and zooms the diagrams, shows hover cards on tasks and channels,
    and, opened as REPORT#rill-sort-check or REPORT#rill-ui-check, checks itself for the
    headless-browser test (tests/test_inspect.c). */
#include "rill_report_script.h"
#include "rill_report.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char s_style[] =
    "body{font-family:Helvetica,Arial,sans-serif;margin:2em;color:#222}"
    "table{border-collapse:collapse;font-size:13px}"
    "td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}"
    "td:first-child{text-align:left}"
    ".diagram{overflow:hidden;border:1px solid #eee}"
    ".diagram svg{max-width:100%;height:auto;display:block}"
    "section{margin-bottom:2em}"
    "button.rill-reset{font-size:12px;margin:4px}"
    "svg.rill-timebar{vertical-align:middle}"
    ".legend span{margin-right:1.2em;font-size:13px}"
    ".legend i{display:inline-block;width:12px;height:12px;margin-right:4px;"
    "vertical-align:middle;border:1px solid #999}"
    "#rill-card{position:absolute;z-index:10;background:#fffff4;border:1px solid #888;"
    "border-radius:4px;padding:6px 9px;font-size:12px;box-shadow:2px 2px 6px rgba(0,0,0,.25);"
    "pointer-events:none;white-space:nowrap}";

static const char s_script[] =
    "(function () {\n"
    "'use strict';\n"
    "var each = function (list, fn) { Array.prototype.forEach.call(list, fn); };\n"
    "var data = {subtasks: [], channels: []};\n"
    "var holder = document.getElementById('rill-data');\n"
    "if (holder) data = JSON.parse(holder.textContent);\n"
    "\n"
    "// Sortable tables: a click on a column's head sorts its rows by it (numbers as numbers,\n"
    "// \"12.5%\" too), again to reverse.\n"
    "function value(row, i) {\n"
    "  var t = row.cells[i] ? row.cells[i].textContent : '';\n"
    "  var n = parseFloat(t);\n"
    "  return isNaN(n) ? t : n;\n"
    "}\n"
    "function sort(table, i, th) {\n"
    "  var rows = Array.prototype.slice.call(table.rows, 1);\n"
    "  var down = th.getAttribute('data-order') !== 'desc';\n"
    "  rows.sort(function (a, b) {\n"
    "    var x = value(a, i), y = value(b, i);\n"
    "    var c = (typeof x === 'number' && typeof y === 'number') ? x - y\n"
    "                                                             : "
    "String(x).localeCompare(String(y));\n"
    "    return down ? -c : c;\n"
    "  });\n"
    "  rows.forEach(function (r) { r.parentNode.appendChild(r); });\n"
    "  th.setAttribute('data-order', down ? 'desc' : 'asc');\n"
    "  table.setAttribute('data-sorted', th.textContent + ':' + (down ? 'desc' : 'asc'));\n"
    "}\n"
    "each(document.querySelectorAll('table'), function (table) {\n"
    "  if (!table.rows.length) return;\n"
    "  each(table.rows[0].cells, function (th, i) {\n"
    "    th.style.cursor = 'pointer';\n"
    "    th.title = 'sort';\n"
    "    th.addEventListener('click', function () { sort(table, i, th); });\n"
    "  });\n"
    "});\n"
    "\n"
    "// Pan and zoom on each diagram: the wheel zooms around the pointer, a drag pans, the button\n"
    "// above it goes back. Both change the SVG's viewBox only (same aspect ratio, so the drawing\n"
    "// keeps its place on the page).\n"
    "function box(svg) {\n"
    "  var v = svg.viewBox.baseVal;\n"
    "  return [v.x, v.y, v.width, v.height];\n"
    "}\n"
    "function setBox(svg, b) { svg.setAttribute('viewBox', b.join(' ')); }\n"
    "// Where a client point falls in the drawing's units (preserveAspectRatio: xMidYMid meet).\n"
    "function toDrawing(svg, clientX, clientY) {\n"
    "  var r = svg.getBoundingClientRect(), b = box(svg);\n"
    "  var scale = Math.min(r.width / b[2], r.height / b[3]) || 1;\n"
    "  return {x: b[0] + (clientX - r.left - (r.width - b[2] * scale) / 2) / scale,\n"
    "          y: b[1] + (clientY - r.top - (r.height - b[3] * scale) / 2) / scale, scale: "
    "scale};\n"
    "}\n"
    "each(document.querySelectorAll('.diagram svg'), function (svg) {\n"
    "  if (!svg.viewBox.baseVal || !svg.viewBox.baseVal.width) return;\n"
    "  var home = box(svg), drag = null;\n"
    "  svg.style.cursor = 'grab';\n"
    "  svg.addEventListener('wheel', function (ev) {\n"
    "    ev.preventDefault();\n"
    "    var p = toDrawing(svg, ev.clientX, ev.clientY), b = box(svg);\n"
    "    var f = ev.deltaY < 0 ? 1 / 1.25 : 1.25;\n"
    "    setBox(svg, [p.x - (p.x - b[0]) * f, p.y - (p.y - b[1]) * f, b[2] * f, b[3] * f]);\n"
    "  }, {passive: false});\n"
    "  svg.addEventListener('mousedown', function (ev) {\n"
    "    if (ev.button !== 0) return;\n"
    "    drag = {x: ev.clientX, y: ev.clientY};\n"
    "    svg.style.cursor = 'grabbing';\n"
    "    ev.preventDefault();\n"
    "  });\n"
    "  window.addEventListener('mousemove', function (ev) {\n"
    "    if (!drag) return;\n"
    "    var scale = toDrawing(svg, ev.clientX, ev.clientY).scale, b = box(svg);\n"
    "    setBox(svg, [b[0] - (ev.clientX - drag.x) / scale, b[1] - (ev.clientY - drag.y) / scale,\n"
    "                 b[2], b[3]]);\n"
    "    drag = {x: ev.clientX, y: ev.clientY};\n"
    "  });\n"
    "  window.addEventListener('mouseup', function () {\n"
    "    drag = null;\n"
    "    svg.style.cursor = 'grab';\n"
    "  });\n"
    "  var reset = document.createElement('button');\n"
    "  reset.className = 'rill-reset';\n"
    "  reset.textContent = 'reset view';\n"
    "  reset.title = 'wheel: zoom, drag: pan';\n"
    "  reset.addEventListener('click', function () { setBox(svg, home); });\n"
    "  svg.parentNode.insertBefore(reset, svg);\n"
    "});\n"
    "\n"
    "// Hover cards on the tasks and channels of the parallel and flow diagrams. Graphviz writes\n"
    "// each box and channel with the id rill_diagram.c gives it: <view>_task<T> (T: the subtask\n"
    "// heading the task), <view>_channel<C>, <view>_bundle_... for channels drawn as one edge.\n"
    "var card = document.createElement('div');\n"
    "card.id = 'rill-card';\n"
    "card.style.display = 'none';\n"
    "document.body.appendChild(card);\n"
    "function percent(ratio) { return (100 * ratio).toFixed(1) + '%'; }\n"
    "function line(text, bold) {\n"
    "  var d = document.createElement('div');\n"
    "  d.textContent = text;\n"
    "  if (bold) d.style.fontWeight = 'bold';\n"
    "  card.appendChild(d);\n"
    "}\n"
    "function fillTask(task) {\n"
    "  data.subtasks.forEach(function (s) {\n"
    "    if (s.task !== task) return;\n"
    "    line(s.name, true);\n"
    "    line('records in ' + s.records_in + ', out ' + s.records_out);\n"
    "    line('busy ' + percent(s.busy) + ', backpressured ' + percent(s.backpressure));\n"
    "    if (s.watermark) line('watermark ' + s.watermark);\n"
    "  });\n"
    "}\n"
    "function fillChannel(c) {\n"
    "  var ch = data.channels[c];\n"
    "  if (!ch) return;\n"
    "  line(ch.from + ' \\u2192 ' + ch.to + ' (' + ch.pattern + ')', true);\n"
    "  line('records ' + ch.records + ' (received ' + ch.records_received + ')');\n"
    "  line('bytes ' + ch.bytes + ', batches ' + ch.batches);\n"
    "}\n"
    "function fillBundle(g) {\n"
    "  line('channels drawn as one edge', true);\n"
    "  // Its label (\"8 channels\") and its records, a bare number.\n"
    "  each(g.querySelectorAll('text'), function (t) {\n"
    "    line((/^\\d+$/.test(t.textContent) ? 'records ' : '') + t.textContent);\n"
    "  });\n"
    "}\n"
    "function place(ev) {\n"
    "  card.style.left = (ev.pageX + 14) + 'px';\n"
    "  card.style.top = (ev.pageY + 14) + 'px';\n"
    "}\n"
    "each(document.querySelectorAll('.diagram g.node, .diagram g.edge'), function (g) {\n"
    "  var m = /^(?:flow|parallel)_(task|channel)(\\d+)$/.exec(g.id);\n"
    "  var bundle = /^(?:flow|parallel)_bundle_/.test(g.id);\n"
    "  if (!m && !bundle) return;\n"
    "  // The card replaces Graphviz's tooltip (the node's name).\n"
    "  var title = g.querySelector('title');\n"
    "  if (title) title.parentNode.removeChild(title);\n"
    "  g.style.cursor = 'help';\n"
    "  g.addEventListener('mouseover', function (ev) {\n"
    "    card.textContent = '';\n"
    "    if (bundle) fillBundle(g);\n"
    "    else if (m[1] === 'task') fillTask(parseInt(m[2], 10));\n"
    "    else fillChannel(parseInt(m[2], 10));\n"
    "    card.setAttribute('data-for', g.id);\n"
    "    card.style.display = card.childNodes.length ? 'block' : 'none';\n"
    "    place(ev);\n"
    "  });\n"
    "  g.addEventListener('mousemove', place);\n"
    "  g.addEventListener('mouseout', function () { card.style.display = 'none'; });\n"
    "});\n"
    "\n"
    "// Self-checks a headless browser runs (tests/test_inspect.c), by the page's address:\n"
    "// #rill-sort-check clicks the subtasks table's \"records in\" head;\n"
    "// #rill-ui-check zooms, pans and resets the flow diagram and hovers a task and a channel,\n"
    "// then writes what it saw, PASS or FAIL and a line per check, into the pre element\n"
    "// with the id rill-ui-result.\n"
    "if (location.hash === '#rill-sort-check') {\n"
    "  var t = document.querySelector('#subtasks table');\n"
    "  if (t) each(t.rows[0].cells, function (th) { if (th.textContent === 'records in') "
    "th.click(); });\n"
    "}\n"
    "if (location.hash === '#rill-ui-check') {\n"
    "  var report = [], ok = true;\n"
    "  var check = function (pass, what) {\n"
    "    report.push((pass ? 'ok: ' : 'FAIL: ') + what);\n"
    "    ok = ok && !!pass;\n"
    "  };\n"
    "  var svg = document.querySelector('#flow .diagram svg');\n"
    "  check(svg, 'the flow diagram is there');\n"
    "  if (svg) {\n"
    "    var r = svg.getBoundingClientRect(), before = box(svg);\n"
    "    svg.dispatchEvent(new WheelEvent('wheel', {deltaY: -120, clientX: r.left + r.width / 4,\n"
    "                                               clientY: r.top + r.height / 4, bubbles: true,\n"
    "                                               cancelable: true}));\n"
    "    var zoomed = box(svg);\n"
    "    check(zoomed[2] < before[2] && zoomed[3] < before[3] && zoomed[0] > before[0],\n"
    "          'the wheel zooms in around the pointer: viewBox ' + before.join(' ') + ' -> ' +\n"
    "          zoomed.join(' '));\n"
    "    svg.dispatchEvent(new MouseEvent('mousedown', {clientX: r.left + 50, clientY: r.top + "
    "50,\n"
    "                                                   button: 0, bubbles: true}));\n"
    "    window.dispatchEvent(new MouseEvent('mousemove', {clientX: r.left + 90, clientY: r.top "
    "+ 80,\n"
    "                                                      bubbles: true}));\n"
    "    window.dispatchEvent(new MouseEvent('mouseup', {bubbles: true}));\n"
    "    var panned = box(svg);\n"
    "    check(panned[0] < zoomed[0] && panned[1] < zoomed[1] && panned[2] === zoomed[2],\n"
    "          'a drag pans: viewBox ' + zoomed.join(' ') + ' -> ' + panned.join(' '));\n"
    "    svg.parentNode.querySelector('button.rill-reset').click();\n"
    "    check(box(svg).join(' ') === before.join(' '), 'reset goes back to ' + before.join(' "
    "'));\n"
    "    var node = svg.querySelector('g.node[id^=\"flow_task\"]');\n"
    "    check(node, 'a task box with an id');\n"
    "    if (node) {\n"
    "      var shape = node.querySelector('path, polygon') || node;\n"
    "      var nr = shape.getBoundingClientRect();\n"
    "      shape.dispatchEvent(new MouseEvent('mouseover', {clientX: nr.left + 5, clientY: "
    "nr.top + 5,\n"
    "                                                       bubbles: true}));\n"
    "      var task = parseInt(node.id.replace('flow_task', ''), 10), first = null;\n"
    "      data.subtasks.forEach(function (s) { if (s.task === task && !first) first = s; });\n"
    "      check(first && card.style.display === 'block' && card.getAttribute('data-for') === "
    "node.id &&\n"
    "            card.textContent.indexOf('records in ' + first.records_in + ', out ' +\n"
    "                                     first.records_out) >= 0,\n"
    "            'hovering ' + node.id + ' shows its card: ' + card.textContent);\n"
    "      shape.dispatchEvent(new MouseEvent('mouseout', {bubbles: true}));\n"
    "      check(card.style.display === 'none', 'the card goes when the pointer leaves');\n"
    "    }\n"
    "    var edge = svg.querySelector('g.edge[id^=\"flow_channel\"]');\n"
    "    check(edge, 'a channel with an id');\n"
    "    if (edge) {\n"
    "      edge.querySelector('path').dispatchEvent(new MouseEvent('mouseover', {bubbles: "
    "true}));\n"
    "      var channel = data.channels[parseInt(edge.id.replace('flow_channel', ''), 10)];\n"
    "      check(channel && card.textContent.indexOf('records ' + channel.records + ' ') >= 0 &&\n"
    "            card.textContent.indexOf('bytes ' + channel.bytes + ', batches ' +\n"
    "                                     channel.batches) >= 0,\n"
    "            'hovering ' + edge.id + ' shows its card: ' + card.textContent);\n"
    "    }\n"
    "    // Collapsed operators (above 8 subtasks) draw bundles: their card counts channels.\n"
    "    var bundled = svg.querySelector('g.edge[id^=\"flow_bundle_\"]');\n"
    "    if (bundled) {\n"
    "      bundled.querySelector('path').dispatchEvent(new MouseEvent('mouseover',\n"
    "                                                                 {bubbles: true}));\n"
    "      check(/\\d+ channels/.test(card.textContent) && /records \\d+/.test(card.textContent),\n"
    "            'hovering ' + bundled.id + ' shows its card: ' + card.textContent);\n"
    "    }\n"
    "  }\n"
    "  var result = document.createElement('pre');\n"
    "  result.id = 'rill-ui-result';\n"
    "  result.textContent = (ok ? 'PASS' : 'FAIL') + '\\n' + report.join('\\n');\n"
    "  document.body.appendChild(result);\n"
    "}\n"
    "})();\n";

const char *rill_report_style(void)
{
    return s_style;
}

//  A JSON string that is also safe inside <script>: '<', '>' and '&' as \u escapes, so no
//  operator name can close the element.
static void s_json_string(FILE *out, const char *text)
{
    fputc('"', out);
    for (const unsigned char *c = (const unsigned char *)text; *c; c++) {
        if (*c == '"' || *c == '\\')
            fprintf(out, "\\%c", *c);
        else if (*c < 0x20 || *c == '<' || *c == '>' || *c == '&')
            fprintf(out, "\\u%04x", *c);
        else
            fputc(*c, out);
    }
    fputc('"', out);
}

//  "name [i/p]" of a subtask, or "name [i]" of a channel's end, as a JSON string.
static void s_json_subtask_name(FILE *out, const rill_plan_operator_t *op, int index, bool of)
{
    char suffix[48];
    if (of)
        snprintf(suffix, sizeof suffix, " [%d/%d]", index + 1, op->parallelism);
    else
        snprintf(suffix, sizeof suffix, " [%d]", index + 1);
    size_t length = strlen(op->name);
    char *name = malloc(length + sizeof suffix);
    if (!name) {
        s_json_string(out, "");
        return;
    }
    memcpy(name, op->name, length);
    memcpy(name + length, suffix, strlen(suffix) + 1);
    s_json_string(out, name);
    free(name);
}

static void s_data(FILE *out, const rill_metrics_t *metrics)
{
    const rill_plan_t *plan = rill_metrics_plan(metrics);
    fprintf(out, "<script type=\"application/json\" id=\"rill-data\">{\"subtasks\":[");
    for (int i = 0; i < rill_plan_subtask_count(plan); i++) {
        const rill_plan_subtask_t *s = rill_plan_subtask(plan, i);
        const rill_plan_operator_t *op = rill_plan_operator(plan, s->op);
        rill_subtask_metrics_t m = rill_metrics_subtask(metrics, i);
        double total = (double)(m.busy_ns + m.idle_ns + m.backpressure_ns);
        fprintf(out, "%s{\"id\":%d,\"task\":%d,\"name\":", i ? "," : "", i, s->task);
        s_json_subtask_name(out, op, s->index, true);
        fprintf(out,
                ",\"records_in\":%llu,\"records_out\":%llu,\"busy\":%.4f,"
                "\"backpressure\":%.4f,\"watermark\":",
                (unsigned long long)m.records_in, (unsigned long long)m.records_out,
                total > 0 ? (double)m.busy_ns / total : 0,
                total > 0 ? (double)m.backpressure_ns / total : 0);
        char when[40];
        if (m.watermark_seen)
            s_json_string(out, rill_time_format(m.watermark, when, sizeof when));
        else
            fprintf(out, "null");
        fprintf(out, "}");
    }
    fprintf(out, "],\"channels\":[");
    for (int c = 0; c < rill_plan_channel_count(plan); c++) {
        const rill_plan_channel_t *ch = rill_plan_channel(plan, c);
        const rill_plan_edge_t *e = rill_plan_edge(plan, ch->edge);
        rill_channel_metrics_t m = rill_metrics_channel(metrics, c);
        fprintf(out, "%s{\"id\":%d,\"from\":", c ? "," : "", c);
        s_json_subtask_name(out, rill_plan_operator(plan, e->from), ch->from_index, false);
        fprintf(out, ",\"to\":");
        s_json_subtask_name(out, rill_plan_operator(plan, e->to), ch->to_index, false);
        fprintf(out,
                ",\"pattern\":\"%s\",\"records\":%llu,\"records_received\":%llu,"
                "\"bytes\":%llu,\"batches\":%llu}",
                e->chained ? "chained" : rill_pattern_name(e->pattern),
                (unsigned long long)m.records, (unsigned long long)m.records_received,
                (unsigned long long)m.bytes, (unsigned long long)m.batches);
    }
    fprintf(out, "]}</script>\n");
}

void rill_report_script_write(FILE *out, const rill_metrics_t *metrics)
{
    s_data(out, metrics);
    fprintf(out, "<script>\n%s</script>\n", s_script);
}
