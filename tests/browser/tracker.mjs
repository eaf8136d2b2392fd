// The website tracker in a real headless Chromium (started by crates/leadgate/tests/tracker.rs,
// which serves a static site with the tracker's snippet and a Leadgate form, and checks the
// store afterwards). Environment: LEADGATE_URL, SITE_URL (listed by the tracker),
// OTHER_SITE_URL (not listed), SHOTS. Exits non-zero naming the step that failed.
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { chromium } from "playwright-core";

const leadgate = process.env.LEADGATE_URL;
const site = process.env.SITE_URL;
const otherSite = process.env.OTHER_SITE_URL;
const shots = process.env.SHOTS;
assert.ok(leadgate && site && otherSite && shots, "LEADGATE_URL, SITE_URL, OTHER_SITE_URL and SHOTS are needed");
mkdirSync(shots, { recursive: true });

// A person's browser: the headless one says "HeadlessChrome", which the collect endpoint
// takes for a robot (rightly: most headless visits are).
const userAgent =
  "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36";

const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  // Set for the whole browser too: a beacon sent as a page is left may go out after the
  // page's own overrides are gone.
  args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", `--user-agent=${userAgent}`],
});
let step = "starting";
const pageErrors = [];

async function visitor(viewport = { width: 1280, height: 800 }) {
  const context = await browser.newContext({ userAgent, viewport });
  const page = await context.newPage();
  page.on("pageerror", (e) => pageErrors.push(`${step}: ${e.message}`));
  return { context, page };
}

/// Reads a page for a while, then follows the link to the next (the tracker sends the page
/// it leaves).
async function readThenFollow(page, href, ms = 1300, base = site) {
  await page.waitForTimeout(ms);
  await Promise.all([page.waitForURL(`${base}${href}`), page.click(`nav a[href="${href}"]`)]);
}

async function sendForm(page, name, email) {
  await page.waitForTimeout(1200); // the form's minimum fill time
  await page.fill("input[name=first_name]", name);
  await page.fill("input[name=email]", email);
  await Promise.all([page.waitForURL((u) => u.href.startsWith(leadgate)), page.click(".leadgate-form button[type=submit]")]);
  await page.waitForSelector("text=Thank you");
}

try {
  step = "a visitor who agrees reads three pages and sends the form";
  {
    const { context, page } = await visitor();
    await page.goto(`${site}/`);
    await page.waitForFunction(() => window.leadgate && window.leadgate.tracker);
    assert.equal(await page.evaluate(() => localStorage.getItem("leadgate")), null, "nothing kept before consent");
    await page.click("#accept");
    const id = await page.evaluate(() => window.leadgate.visitor());
    assert.match(id ?? "", /^[0-9a-f]{32}$/, "an id once they agreed");
    await readThenFollow(page, "/pricing");
    await readThenFollow(page, "/features");
    await readThenFollow(page, "/contact");
    assert.equal(await page.inputValue("input[name=_lgv]"), id, "the form carries the visitor's id");
    await page.screenshot({ path: `${shots}/contact.png`, fullPage: true });
    await sendForm(page, "Mai", "mai@acme.example");
    await context.close();
  }

  step = "a visitor who never agrees sends the form and leaves nothing";
  {
    const { context, page } = await visitor({ width: 390, height: 844 });
    await page.goto(`${site}/`);
    await page.waitForFunction(() => window.leadgate && window.leadgate.tracker);
    await readThenFollow(page, "/pricing", 300);
    await readThenFollow(page, "/contact", 300);
    assert.equal(await page.inputValue("input[name=_lgv]"), "", "no id in the form");
    assert.equal(await page.evaluate(() => window.leadgate.visitor()), null);
    assert.equal(await page.evaluate(() => localStorage.getItem("leadgate")), null, "nothing kept in the browser");
    await sendForm(page, "Bảo", "bao@acme.example");
    await context.close();
  }

  step = "a site the tracker does not list is refused";
  {
    const { context, page } = await visitor();
    await page.goto(`${otherSite}/`);
    await page.waitForFunction(() => window.leadgate && window.leadgate.tracker);
    await page.click("#accept");
    // What the script sends, sent where the answer can be read.
    const status = await page.evaluate(async (server) => {
      const body = JSON.stringify({
        tracker: window.leadgate.tracker,
        visitor: window.leadgate.visitor(),
        views: [{ id: "0123456789abcdef0123", url: location.href, title: document.title, at: Date.now(), seconds: 2, visit: 1 }],
      });
      const response = await fetch(`${server}/t/collect`, { method: "POST", headers: { "Content-Type": "text/plain" }, body });
      return response.status;
    }, leadgate);
    assert.equal(status, 403, "the collect endpoint refuses a site not listed");
    // The script's own beacon for the page it leaves meets the same refusal.
    await readThenFollow(page, "/pricing", 300, otherSite);
    await context.close();
  }

  assert.deepEqual(pageErrors, [], "no script errors on the site's pages");
  console.log("tracker: all steps passed");
} catch (e) {
  console.error(`tracker: failed at "${step}": ${e.stack ?? e}`);
  process.exitCode = 1;
} finally {
  await browser.close();
}
