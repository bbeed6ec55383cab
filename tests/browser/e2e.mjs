// The end-to-end test of the pages for people (issue 14), in headless Chromium: Debian's
// /usr/bin/chromium, driven by playwright-core over the DevTools protocol (nothing here
// downloads a browser). scripts/browser-test.sh starts the server and sets:
//   BASE_URL        the server, e.g. http://127.0.0.1:PORT
//   REVIEWER_TOKEN  a reviewer's token; REPORTER_TOKEN a reporter's
//   OUT_DIR         where screenshots and the PDF go (target/browser)
//   YEAR            the report's year
// Signs in, loads the dashboard, changes a filter, opens the report, downloads a table,
// reads the accessibility statement and signs out: with no console error, no failed
// request and no answer of 400 or more on the way, and no axe-core violation of WCAG 2.1
// A/AA on any page. Screenshots of each page and the report printed to PDF go to OUT_DIR.
// Then, in fresh contexts: without a cookie the report redirects to the sign-in page; a
// reporter's sign-in is refused; forms posted without their CSRF token are refused.
// Last, the API reference at /api/docs renders with every request off this server aborted
// (no console error, no failed request; screenshot api-docs.png).
import { readFileSync, mkdirSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { chromium } from "playwright-core";

const require = createRequire(import.meta.url);
const axeSource = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");

const base = required("BASE_URL");
const reviewerToken = required("REVIEWER_TOKEN");
const reporterToken = required("REPORTER_TOKEN");
const outDir = required("OUT_DIR");
const year = required("YEAR");
const started = Date.now();
mkdirSync(outDir, { recursive: true });

function required(name) {
  const value = process.env[name];
  if (!value) {
    console.error(`e2e: ${name} is not set`);
    process.exit(2);
  }
  return value;
}

let passed = 0;
const failures = [];
function check(condition, what) {
  if (condition) {
    passed += 1;
    console.log(`  ok   ${what}`);
  } else {
    failures.push(what);
    console.log(`  FAIL ${what}`);
  }
}

const AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"];
const visited = [];
let axeViolations = 0;

/** Runs axe-core on the page at WCAG 2.1 A and AA; counts and prints every violation. */
async function audit(page, name) {
  // Evaluated over the DevTools protocol, which the page's CSP (no script at all) does
  // not govern; the page itself runs no script.
  await page.evaluate(axeSource);
  const result = await page.evaluate(
    (tags) => window.axe.run(document, { runOnly: { type: "tag", values: tags } }),
    AXE_TAGS,
  );
  visited.push(name);
  axeViolations += result.violations.length;
  for (const violation of result.violations) {
    const where = violation.nodes.slice(0, 3).map((n) => n.target.join(" ")).join("; ");
    console.log(`       axe ${violation.id} (${violation.impact}): ${violation.help} at ${where}`);
  }
  check(result.violations.length === 0,
    `${name}: axe-core finds no WCAG 2.1 AA violation (${result.passes.length} rules pass)`);
}

async function screenshot(page, file, fullPage = true) {
  await page.screenshot({ path: `${outDir}/${file}`, fullPage });
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  // CI runs as root, where Chromium's sandbox cannot start.
  args: ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});

try {
  await happyPath();
  await refusals();
  await apiReference();
} finally {
  await browser.close();
}

/** The way a reviewer goes, watching every console message and request. */
async function happyPath() {
  console.log("a reviewer's visit:");
  const context = await browser.newContext({ viewport: { width: 1200, height: 900 }, locale: "nb-NO" });
  const page = await context.newPage();
  const consoleErrors = [];
  const failedRequests = [];
  page.on("console", (message) => {
    if (message.type() === "error") consoleErrors.push(message.text());
  });
  page.on("pageerror", (error) => consoleErrors.push(String(error)));
  page.on("requestfailed", (request) => failedRequests.push(`${request.url()} ${request.failure()?.errorText}`));
  page.on("response", (response) => {
    if (response.status() >= 400) failedRequests.push(`${response.url()} ${response.status()}`);
  });

  await page.goto(`${base}/`);
  check(new URL(page.url()).pathname === "/logg-inn", "the dashboard sends a visitor without a session to the sign-in page");
  check((await page.getAttribute("html", "lang")) === "nb", "the sign-in page is in bokmål (lang=nb)");
  await audit(page, "sign-in page");
  await screenshot(page, "logg-inn.png");

  await page.fill("#nokkel", reviewerToken);
  await Promise.all([page.waitForURL(`${base}/`), page.click("button:has-text('Logg inn')")]);
  const cookies = await context.cookies();
  const session = cookies.find((c) => c.name === "unntak_okt");
  check(session && session.httpOnly && session.sameSite === "Strict",
    "signing in sets the session cookie, HttpOnly and SameSite=Strict");
  check((await page.textContent("h1")).startsWith("Oversikt"), "signed in, the dashboard shows");
  await audit(page, "dashboard");
  await screenshot(page, "oversikt.png");

  await page.selectOption("#grunnlag", "residence");
  await Promise.all([page.waitForURL(/grunnlag=residence/), page.click("button:has-text('Vis')")]);
  check((await page.inputValue("#grunnlag")) === "residence", "the region-basis filter is applied and kept in the form");
  check((await page.locator("th:has-text('Per 100 000')").count()) > 0,
    "by region of residence, applications per 100 000 residents are shown");
  const csvHref = await page.getAttribute("a[href*='csv=vedtak-region']", "href");
  const csv = await context.request.get(`${base}${csvHref}`);
  check(csv.status() === 200 && (await csv.text()).startsWith("Region,"), "a dashboard table downloads as CSV");
  await audit(page, "dashboard, filtered");
  await screenshot(page, "oversikt-bosted.png");

  await Promise.all([page.waitForURL(`${base}/rapport/${year}`), page.click(`a:has-text('Årsrapporten for ${year}')`)]);
  check((await page.textContent("h1")).startsWith(`Årsrapport ${year}`), "the dashboard links the year's report");
  check((await page.locator("svg.chart").count()) > 0, "the report draws its charts");
  await audit(page, "annual report");
  await screenshot(page, `rapport-${year}.png`);
  await screenshot(page, `rapport-${year}-topp.png`, false);
  const pdf = `${outDir}/rapport-${year}.pdf`;
  await page.pdf({ path: pdf, format: "A4", printBackground: true });
  check(statSync(pdf).size > 20_000, `the report prints to PDF (${Math.round(statSync(pdf).size / 1024)} KiB)`);
  const reportCsv = await context.request.get(`${base}/rapport/${year}/regioner.csv`);
  check(reportCsv.status() === 200, "a report table downloads as CSV");

  await Promise.all([page.waitForURL(`${base}/tilgjengelighet`), page.click("footer a:has-text('Tilgjengelighetserklæring')")]);
  await audit(page, "accessibility statement");

  await Promise.all([page.waitForURL(/\/logg-inn\?ut=1/), page.click("button:has-text('Logg ut')")]);
  check(!(await context.cookies()).some((c) => c.name === "unntak_okt"), "signing out removes the session cookie");
  await audit(page, "signed out");

  check(consoleErrors.length === 0, `no console error (${consoleErrors.join(" | ") || "none"})`);
  check(failedRequests.length === 0, `no failed request (${failedRequests.join(" | ") || "none"})`);
  await context.close();
}

/** What is refused, each in a fresh context. */
async function refusals() {
  console.log("refusals:");
  {
    const context = await browser.newContext();
    const answer = await context.request.get(`${base}/rapport/${year}`, { maxRedirects: 0 });
    check(answer.status() === 303 && answer.headers()["location"] === `/logg-inn?neste=/rapport/${year}`,
      `without a cookie /rapport/${year} redirects (303) to /logg-inn?neste=/rapport/${year}`);
    const page = await context.newPage();
    await page.goto(`${base}/rapport/${year}`);
    check(new URL(page.url()).pathname === "/logg-inn", "in the browser it lands on the sign-in page");
    await page.fill("#nokkel", reviewerToken);
    await Promise.all([page.waitForURL(`${base}/rapport/${year}`), page.click("button:has-text('Logg inn')")]);
    check(true, "after signing in it goes on to the report asked for");
    await context.close();
  }
  {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${base}/logg-inn`);
    await page.fill("#nokkel", reporterToken);
    const [response] = await Promise.all([
      page.waitForResponse((r) => r.request().method() === "POST"),
      page.click("button:has-text('Logg inn')"),
    ]);
    await page.waitForLoadState();
    check(response.status() === 403, "a reporter's sign-in is refused (403)");
    check((await page.textContent("[role=alert]")).includes("Rapportører og forskere"), "and says why");
    check(!(await context.cookies()).some((c) => c.name === "unntak_okt"), "and sets no session cookie");
    await audit(page, "sign-in refused");
    await screenshot(page, "logg-inn-avvist.png");
    await context.close();
  }
  {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${base}/logg-inn`);
    const withoutCsrf = await context.request.post(`${base}/logg-inn`,
      { form: { nokkel: reviewerToken }, maxRedirects: 0 });
    check(withoutCsrf.status() === 403, "the sign-in form posted without its CSRF token is refused (403)");
    await page.fill("#nokkel", reviewerToken);
    await Promise.all([page.waitForURL(`${base}/`), page.click("button:has-text('Logg inn')")]);
    const signOut = await context.request.post(`${base}/logg-ut`, { form: {}, maxRedirects: 0 });
    check(signOut.status() === 403, "the sign-out form posted without its CSRF token is refused (403)");
    const forged = await context.request.post(`${base}/logg-ut`, { form: { csrf: "0".repeat(64) }, maxRedirects: 0 });
    check(forged.status() === 403, "and so is one with a wrong CSRF token");
    await page.reload();
    check((await page.textContent("h1")).startsWith("Oversikt"), "the session is still there afterwards");
    await context.close();
  }
}

/** The API reference with the network off: every request to anywhere but this server is
 * aborted, as on a hospital network without internet access (issue 16). */
async function apiReference() {
  console.log("the API reference, offline:");
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const server = new URL(base).host;
  const blocked = [];
  await context.route("**/*", (route) => {
    const url = new URL(route.request().url());
    if (url.host === server || url.protocol === "data:" || url.protocol === "blob:") return route.continue();
    blocked.push(url.href);
    return route.abort("internetdisconnected");
  });
  const consoleErrors = [];
  const failedRequests = [];
  page.on("console", (message) => {
    if (message.type() === "error") consoleErrors.push(message.text());
  });
  page.on("pageerror", (error) => consoleErrors.push(String(error)));
  page.on("requestfailed", (request) => failedRequests.push(`${request.url()} ${request.failure()?.errorText}`));
  page.on("response", (response) => {
    if (response.status() >= 400) failedRequests.push(`${response.url()} ${response.status()}`);
  });

  await page.goto(`${base}/api/docs`);
  // An operation's summary, which only the rendered reference shows (the page itself
  // holds no text but its title): in the reference's list of operations.
  const operation = page.getByText("Report a case together with its decision").first();
  const rendered = await operation.waitFor({ state: "visible", timeout: 30_000 }).then(() => true, () => false);
  check(rendered, "the API reference renders with the network off (an operation is listed)");
  check((await page.getByText("/api/v1/decisions").count()) > 0, "and names the operations' paths");
  await page.waitForLoadState("networkidle");
  await screenshot(page, "api-docs.png", false);
  check(blocked.length === 0, `it asks nothing of any other host (${blocked.join(" | ") || "none"})`);
  check(consoleErrors.length === 0, `no console error (${consoleErrors.join(" | ") || "none"})`);
  check(failedRequests.length === 0, `no failed request (${failedRequests.join(" | ") || "none"})`);
  await context.close();
}

const seconds = ((Date.now() - started) / 1000).toFixed(1);
console.log(`pages audited with axe-core: ${visited.length} (${visited.join(", ")}); violations: ${axeViolations}`);
console.log(`screenshots and rapport-${year}.pdf in ${outDir}; ${seconds} s in the browser`);
console.log(`browser: ${passed} passed, ${failures.length} failed`);
if (failures.length > 0) {
  for (const failure of failures) console.log(`  failed: ${failure}`);
  process.exit(1);
}
