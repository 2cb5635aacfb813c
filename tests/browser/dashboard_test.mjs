// The dashboard in a real browser (Debian's Chromium, driven over the DevTools protocol by playwright-core):
// loads the page of a running pipeline, waits until it shows the numbers the warehouse holds, runs a query
// through the query box and reads its table and CSV download, and saves a screenshot.
//
//   node dashboard_test.mjs CDP_URL PAGE_URL EXPECT.json SCREENSHOT.png
//
// EXPECT.json: {"values": {data-value key: number, ...}, "query": SQL, "query_rows": [[cell text, ...]],
// "query_csv": text}. Exits 0 when everything matches, 1 with what differs otherwise.
import { readFileSync } from "node:fs";
import { chromium } from "playwright-core";

const [cdpUrl, pageUrl, expectFile, screenshot] = process.argv.slice(2);
const expect = JSON.parse(readFileSync(expectFile, "utf8"));
const failures = [];
const timeout = 120000;

const browser = await chromium.connectOverCDP(cdpUrl);
try {
  const context = await browser.newContext({ viewport: { width: 1600, height: 1150 } });
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
  await page.goto(pageUrl);

  // Every number the warehouse holds, as the canvas shows it once the polls have come back.
  for (const [key, value] of Object.entries(expect.values)) {
    try {
      await page.waitForFunction(
        ([k, v]) => [...document.querySelectorAll(`[data-value="${k}"]`)].some((el) => el.dataset.raw === String(v)),
        [key, value], { timeout });
    } catch {
      const shown = await page.$eval(`[data-value="${key}"]`, (el) => el.dataset.raw).catch(() => "(none)");
      failures.push(`${key}: shows ${shown}, the warehouse holds ${value}`);
    }
  }
  // The charts have points, the tables of runs and files rows.
  // (attached, not visible: once everything is merged the line is flat, a box of no height)
  await page.waitForSelector("#chart-throughput polyline", { state: "attached", timeout })
    .catch(() => failures.push("no throughput line"));
  await page.waitForSelector("#runs table tbody tr", { timeout }).catch(() => failures.push("no merge runs"));
  await page.waitForFunction((n) => document.querySelectorAll("#files tbody tr").length === n, expect.files,
    { timeout }).catch(() => failures.push(`the files table does not list ${expect.files} files`));

  // A query through the box, as a user types it.
  await page.fill("#query-text", expect.query);
  await page.click("#query-run");
  await page.waitForSelector("#query-result table", { timeout });
  const rows = await page.$$eval("#query-result tbody tr",
    (trs) => trs.map((tr) => [...tr.children].map((td) => td.textContent)));
  if (JSON.stringify(rows) !== JSON.stringify(expect.query_rows)) {
    failures.push(`query box: ${JSON.stringify(rows)} instead of ${JSON.stringify(expect.query_rows)}`);
  }
  await page.waitForSelector('#query-csv[data-ready="true"]', { timeout });
  const csv = await page.evaluate(async () => (await fetch(document.getElementById("query-csv").href)).text());
  if (csv !== expect.query_csv) failures.push(`CSV download: ${JSON.stringify(csv)} instead of ${JSON.stringify(expect.query_csv)}`);
  if (errors.length) failures.push(`page errors: ${errors.join("; ")}`);
  // A statement that writes is refused (the browser logs the 400), and the page says why.
  await page.fill("#query-text", "DROP TABLE load_history");
  await page.click("#query-run");
  await page.waitForSelector("#query-result .error", { timeout });
  const refusal = await page.textContent("#query-result .error");
  if (!/DROP/.test(refusal)) failures.push(`the refusal does not name the statement: ${refusal}`);

  await page.fill("#query-text", expect.query);
  await page.click("#query-run");
  await page.waitForSelector("#query-result table", { timeout });
  await page.screenshot({ path: screenshot, fullPage: true });
  await context.close();
} finally {
  await browser.close();
}
if (failures.length) {
  console.error(failures.join("\n"));
  process.exit(1);
}
console.log("dashboard: every number, the query box and the CSV download match the warehouse");
