// The live dashboard: polls /metrics (every second) and /api/status, and reads the latest rejects and files
// through /api/sql (read-only); no library, no network beyond this process.
"use strict";

const token = new URLSearchParams(location.search).get("token");
const headers = token ? { Authorization: "Bearer " + token } : {};
const WINDOW_SECONDS = 300;
const series = { throughput: [], freshness: [] };  // [seconds since epoch, value]
let previous = null;  // the last scrape's totals, for rates
let entities = [];

async function get(path, init) {
  const r = await fetch(path, Object.assign({ headers }, init || {}));
  const text = await r.text();
  if (!r.ok) throw new Error(text.trim() || r.statusText);
  return text;
}

function sql(statement, format) {
  return get("/api/sql?format=" + (format || "json"), { method: "POST", body: statement, headers });
}

// {name: [{labels, value}]} from the Prometheus text format.
function parseMetrics(text) {
  const out = {};
  for (const line of text.split("\n")) {
    if (!line || line[0] === "#") continue;
    const m = line.match(/^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$/);
    if (!m) continue;
    const labels = {};
    for (const l of (m[3] || "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2];
    (out[m[1]] = out[m[1]] || []).push({ labels, value: Number(m[4]) });
  }
  return out;
}

// The sum of a metric over its series (every entity), or null when this process does not report it.
function total(metrics, name) {
  const s = metrics[name];
  return s ? s.reduce((a, x) => a + x.value, 0) : null;
}

const number = new Intl.NumberFormat("en-US");
function show(key, value, format) {
  for (const el of document.querySelectorAll(`[data-value="${key}"]`)) {
    el.textContent = value === null || value === undefined ? "–" : format ? format(value) : number.format(value);
    el.dataset.raw = value === null || value === undefined ? "" : String(value);
  }
}

function bytes(n) {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return (i ? n.toFixed(1) : n) + " " + units[i];
}

function seconds(s) {
  return s < 1 ? Math.round(s * 1000) + " ms" : s.toFixed(1) + " s";
}

function mark(id, busy, bad) {
  const el = document.getElementById(id);
  el.classList.toggle("busy", !!busy);
  el.classList.toggle("bad", !!bad);
}

async function pollMetrics() {
  const m = parseMetrics(await get("/metrics"));
  const now = Date.now() / 1000;
  const v = (name) => total(m, name);
  show("landing_files", v("dimstream_landing_files"));
  show("files_moved", v("dimstream_mover_files_total"));
  show("bytes_moved", v("dimstream_mover_bytes_total"), bytes);
  show("move_failures", v("dimstream_mover_failures_total"));
  show("bucket_objects", v("dimstream_bucket_objects"));
  show("bucket_backlog", v("dimstream_bucket_backlog_objects"));
  show("queue_waiting", v("dimstream_queue_backlog_messages"));
  show("queue_dead", v("dimstream_queue_dead_letter_messages"));
  show("objects_loaded", v("dimstream_loader_objects_loaded_total"));
  show("objects_failed", v("dimstream_loader_objects_failed_total"));
  show("rows_loaded", v("dimstream_loader_rows_loaded_total"));
  show("rows_rejected", v("dimstream_loader_rows_rejected_total"));
  show("raw_rows_waiting", v("dimstream_raw_rows_waiting"));
  const lag = m.dimstream_watermark_lag_seconds;
  show("watermark_lag", lag ? Math.max(...lag.map((x) => x.value)) : null, seconds);
  show("merge_runs", v("dimstream_merge_runs_total"));
  show("merge_failures", v("dimstream_merge_failures_total"));
  show("rows_merged", v("dimstream_merge_rows_total"));
  show("versions_opened", v("dimstream_merge_versions_opened_total"));
  show("versions_closed", v("dimstream_merge_versions_closed_total"));
  show("scd1_updates", v("dimstream_merge_scd1_updates_total"));
  mark("role-landing", v("dimstream_landing_files") > 0);
  mark("role-mover", false, v("dimstream_mover_failures_total") > 0);
  mark("role-queue", v("dimstream_queue_backlog_messages") > 0, v("dimstream_queue_dead_letter_messages") > 0);
  mark("role-loader", false, v("dimstream_loader_objects_failed_total") > 0);
  mark("role-raw", v("dimstream_raw_rows_waiting") > 0);
  mark("role-merge", false, v("dimstream_merge_failures_total") > 0);

  const sample = {
    at: now,
    merged: v("dimstream_merge_rows_total"),
    freshSum: v("dimstream_freshness_seconds_sum"),
    freshCount: v("dimstream_freshness_seconds_count"),
  };
  if (previous && sample.merged !== null) {
    const dt = sample.at - previous.at;
    series.throughput.push([now, dt > 0 ? (sample.merged - previous.merged) / dt : 0]);
    const runs = sample.freshCount - previous.freshCount;
    if (runs > 0) series.freshness.push([now, (sample.freshSum - previous.freshSum) / runs]);
  }
  previous = sample;
  for (const s of Object.values(series)) {
    while (s.length && s[0][0] < now - WINDOW_SECONDS) s.shift();
  }
  chart("chart-throughput", series.throughput, now, (x) => number.format(Math.round(x)));
  chart("chart-freshness", series.freshness, now, seconds);
  document.getElementById("updated").textContent = "updated " + new Date().toLocaleTimeString();
}

// A line chart of [t, value] points over the last WINDOW_SECONDS, drawn as SVG.
function chart(id, points, now, label) {
  const svg = document.getElementById(id);
  const W = 600, H = 160, top = 10, bottom = 20;
  const max = Math.max(1e-9, ...points.map((p) => p[1]));
  const x = (t) => ((t - (now - WINDOW_SECONDS)) / WINDOW_SECONDS) * W;
  const y = (v) => H - bottom - (v / max) * (H - top - bottom);
  const line = points.map((p) => `${x(p[0]).toFixed(1)},${y(p[1]).toFixed(1)}`).join(" ");
  svg.innerHTML =
    `<line x1="0" y1="${H - bottom}" x2="${W}" y2="${H - bottom}"/>` +
    `<line x1="0" y1="${top}" x2="${W}" y2="${top}"/>` +
    `<text x="4" y="${top + 11}">${points.length ? label(max) : "no data yet"}</text>` +
    `<text x="4" y="${H - 5}">-5 min</text><text x="${W - 30}" y="${H - 5}">now</text>` +
    (points.length ? `<polyline points="${line}"/>` : "");
}

// A table of JSON rows (an array of objects) into `el`.
function table(el, rows, columns) {
  if (!rows.length) {
    el.innerHTML = '<p class="muted none">none</p>';
    return;
  }
  columns = columns || Object.keys(rows[0]);
  const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);
  el.innerHTML =
    "<table><thead><tr>" + columns.map((c) => `<th>${esc(c)}</th>`).join("") + "</tr></thead><tbody>" +
    rows.map((r) => "<tr>" + columns.map((c) =>
      r[c] === null || r[c] === undefined ? '<td class="null">NULL</td>' : `<td>${esc(r[c])}</td>`).join("") +
      "</tr>").join("") + "</tbody></table>";
}

function failed(el, error) {
  el.innerHTML = "";
  const p = document.createElement("p");
  p.className = "error";
  p.textContent = error.message;
  el.appendChild(p);
}

// The throughput chart's last five minutes from task_history, once: the page shows what happened before it
// was opened, and the polls go on from there.
async function seedThroughput() {
  const runs = JSON.parse(await sql(
    "SELECT extract(epoch FROM finished_at) AS at, rows_in FROM task_history WHERE status = 'succeeded' " +
    "AND rows_in > 0 ORDER BY finished_at"));
  const now = Date.now() / 1000;
  const perSecond = new Map();
  for (const r of runs) {
    const at = Math.floor(Number(r.at));
    if (at >= now - WINDOW_SECONDS) perSecond.set(at, (perSecond.get(at) || 0) + Number(r.rows_in));
  }
  const points = [];
  for (let t = Math.floor(now - WINDOW_SECONDS); t < Math.floor(now); t++) points.push([t, perSecond.get(t) || 0]);
  series.throughput = points.concat(series.throughput);
}

async function pollStatus() {
  const status = JSON.parse(await get("/api/status"));
  document.getElementById("where").textContent = status.warehouse;
  const rows = status.pipeline.filter((r) => r.entity !== "(no entity)");
  entities = rows.map((r) => r.entity);
  const sum = (k) => rows.reduce((a, r) => a + (Number(r[k]) || 0), 0);
  show("current_keys", sum("current_keys"));
  show("history_versions", sum("history_versions"));
  show("watermark", rows.length === 1 ? rows[0].watermark : null, String);
  table(document.getElementById("runs"), status.last_merge_runs);
}

function quoteIdent(name) {
  return '"' + name.replace(/"/g, '""') + '"';
}

async function pollTables() {
  const rejects = entities.map((e) =>
    `SELECT '${e.replace(/'/g, "''")}' AS entity, object_key, line, reason, rejected_at FROM ${quoteIdent(e + "_rejects")}`);
  if (rejects.length) {
    const rows = JSON.parse(await sql(rejects.join(" UNION ALL ") + " ORDER BY rejected_at DESC, line DESC LIMIT 20"));
    table(document.getElementById("rejects"), rows);
  }
  const files = JSON.parse(await sql(
    "SELECT load_id, object_key, entity, status, rows_loaded, rows_rejected, loaded_at, error FROM load_history " +
    "ORDER BY load_id DESC LIMIT 50"));
  table(document.getElementById("files"), files);
}

function every(ms, fn) {
  const run = () => fn().catch((e) => {
    document.getElementById("updated").textContent = "error: " + e.message;
  }).finally(() => setTimeout(run, ms));
  run();
}

document.getElementById("query-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const statement = document.getElementById("query-text").value;
  const note = document.getElementById("query-note");
  const out = document.getElementById("query-result");
  const csv = document.getElementById("query-csv");
  note.textContent = "running…";
  const started = performance.now();
  try {
    const rows = JSON.parse(await sql(statement, "json"));
    table(out, rows);
    note.textContent = `${rows.length} rows in ${Math.round(performance.now() - started)} ms`;
    const text = await sql(statement, "csv");
    if (csv.href.startsWith("blob:")) URL.revokeObjectURL(csv.href);
    csv.href = URL.createObjectURL(new Blob([text], { type: "text/csv" }));
    csv.dataset.ready = "true";
  } catch (e) {
    note.textContent = "";
    failed(out, e);
  }
});

seedThroughput().catch(() => {}).finally(() => every(1000, pollMetrics));
every(3000, pollStatus);
every(5000, async () => { if (entities.length) await pollTables(); });
