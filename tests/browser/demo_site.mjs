// The demo's sample site in a real headless Chromium on a phone-sized screen (started by
// crates/leadgate/tests/tracker.rs against a demo store served as `leadgate demo` serves it):
// agree on the banner, read two pages, send the demo form. Environment: DEMO_URL, SHOTS.
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { chromium } from "playwright-core";

const demo = process.env.DEMO_URL;
const shots = process.env.SHOTS;
assert.ok(demo && shots, "DEMO_URL and SHOTS are needed");
mkdirSync(shots, { recursive: true });
const userAgent =
  "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1";
const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", `--user-agent=${userAgent}`],
});
try {
  const context = await browser.newContext({ userAgent, viewport: { width: 390, height: 844 } });
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto(`${demo}/demo-site/`);
  await page.waitForFunction(() => window.leadgate && window.leadgate.tracker);
  await page.click("text=Agree");
  await page.waitForTimeout(1200);
  await Promise.all([page.waitForURL(`${demo}/demo-site/pricing`), page.click("nav >> text=Pricing")]);
  await page.waitForTimeout(1200);
  await Promise.all([page.waitForURL(`${demo}/demo-site/contact`), page.click("nav >> text=Contact us")]);
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(width <= 390, `the page fits a phone (${width} px wide)`);
  await page.waitForTimeout(3200); // the demo form's minimum fill time
  await page.fill("input[name=email]", "demo.visitor@acme.example");
  await page.check("input[name=consent]");
  await page.screenshot({ path: `${shots}/demo-site-contact.png`, fullPage: true });
  const [response] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith("/f/demo") && r.request().method() === "POST"),
    page.click(".leadgate-form button[type=submit]"),
  ]);
  assert.equal(response.status(), 303, "the form is received (and sends the visitor to its thank-you page)");
  assert.deepEqual(errors, []);
  console.log("demo site: passed");
} catch (e) {
  console.error(`demo site: failed: ${e.stack ?? e}`);
  process.exitCode = 1;
} finally {
  await browser.close();
}
