// e2e.mjs - the dashboard end to end: a real solvd (on a free port, a fresh database, the
// dashboard from clients/dashboard) driven through headless Chromium (Debian's /usr/bin/chromium)
// with playwright-core. Submits a long EF21 job from the form, watches its plot grow, finds it
// live in the jobs table, reloads the job page and gets the history back, cancels it from the
// page, checks field errors for a bad parameter and a bad problem, and reads the solver catalog.
// Screenshots go to tests/artifacts/dashboard/. Prints "N passed, M failed"; exits 1 on failure.
//
// usage: node e2e.mjs [path/to/solvd]   (or SOLVD_BIN; CHROMIUM overrides /usr/bin/chromium)
import { chromium } from 'playwright-core';
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync, existsSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../..');
const BIN = resolve(process.argv[2] || process.env.SOLVD_BIN || join(root, 'build/solvd'));
const DASHBOARD = resolve(process.env.SOLVD_DASHBOARD_DIR || join(root, 'clients/dashboard'));
const ARTIFACTS = resolve(process.env.SOLVD_ARTIFACTS || join(root, 'tests/artifacts/dashboard'));
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const WAIT_MS = 15000;        // the longest any single wait may take
const TOTAL_MS = 120000;      // the whole run, start-up included

const tmp = mkdtempSync(join(tmpdir(), 'solvd-dash-'));
const daemons = [];
let browser = null;
const daemonLog = [];

function log(msg) { process.stdout.write(`${msg}\n`); }

async function cleanup() {
  if (browser) { try { await browser.close(); } catch { /* already gone */ } browser = null; }
  for (const d of daemons) {
    if (d.exitCode !== null || d.signalCode !== null) continue;
    d.kill('SIGTERM');
    await new Promise((r) => { const t = setTimeout(() => { d.kill('SIGKILL'); r(); }, 5000); d.once('exit', () => { clearTimeout(t); r(); }); });
  }
  try { writeFileSync(join(ARTIFACTS, 'daemon.log'), daemonLog.join('\n') + '\n'); } catch { /* no artifacts dir */ }
  rmSync(tmp, { recursive: true, force: true });
}

const watchdog = setTimeout(async () => {
  log(`e2e: the run took longer than ${TOTAL_MS / 1000} s; giving up`);
  await cleanup();
  log('0 passed, 1 failed');
  process.exit(1);
}, TOTAL_MS);

/** Starts solvd on a free port; resolves with its base URL once it logs msg="listening". */
function startDaemon(name, extra = []) {
  return new Promise((resolveUrl, reject) => {
    const daemon = spawn(BIN, [
      '--listen', '127.0.0.1:0', '--db', join(tmp, `${name}.db`), '--dashboard-dir', DASHBOARD,
      '--workers', '2', '--progress-interval-ms', '100', '--heartbeat-s', '5', ...extra,
    ], { stdio: ['ignore', 'pipe', 'pipe'] });
    daemons.push(daemon);
    const timer = setTimeout(() => reject(new Error('solvd did not log msg="listening" within 15 s')), WAIT_MS);
    let buf = '';
    const onData = (chunk) => {
      buf += chunk.toString();
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        daemonLog.push(`[${name}] ${line}`);
        const m = /msg="listening".*\bport=(\d+)/.exec(line);
        if (m) { clearTimeout(timer); resolveUrl(`http://127.0.0.1:${m[1]}`); }
      }
    };
    daemon.stderr.on('data', onData);
    daemon.stdout.on('data', onData);
    daemon.on('error', (e) => { clearTimeout(timer); reject(e); });
    daemon.on('exit', (code, sig) => { clearTimeout(timer); reject(new Error(`solvd exited early (${code ?? sig})`)); });
  });
}

function assert(cond, msg) { if (!cond) throw new Error(msg); }

/** Polls fn() (async, in node) until it returns a truthy value; fails after ms. */
async function until(what, fn, ms = WAIT_MS) {
  const end = Date.now() + ms;
  let last;
  for (;;) {
    try { last = await fn(); if (last) return last; } catch (e) { last = e; }
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}${last instanceof Error ? ` (${last.message})` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const points = (page, metric = 'objective') =>
  page.$eval(`figure.chart[data-metric="${metric}"]`, (f) => Number(f.dataset.points)).catch(() => 0);

async function shot(page, name) {
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
}

// ---------------------------------------------------------------- the tests
const state = { base: '', jobId: '', pointsBeforeReload: 0 };

const tests = [
  ['submit a long EF21 job from the form and watch the plot grow', async (page) => {
    await page.goto(`${state.base}/#/submit/distributed.ef21`);
    const tol = page.locator('.field[data-path="/params/tol"] input');
    await tol.waitFor();
    // The example's parameters are filled in; make the run long: no tolerance, a huge budget.
    assert(await page.locator('.field[data-path="/params/variant"] select').inputValue() === '"ef21w"', 'the example parameters were not filled in');
    await tol.fill('0');
    await page.locator('.field[data-path="/params/max_iter"] input').fill('1000000000');
    await page.locator('.field[data-path="/tags"] input').fill('e2e, long');
    await page.locator('#submit-job').click();
    await page.waitForURL(/#\/jobs\/[0-9a-z]+$/, { timeout: WAIT_MS });
    state.jobId = decodeURIComponent(page.url().split('#/jobs/')[1]);
    await page.locator('#job-status [data-status="running"]').waitFor({ timeout: WAIT_MS });
    const n1 = await until('the objective plot to have 3 points', async () => { const n = await points(page); return n >= 3 && n; });
    const n2 = await until('the objective plot to grow', async () => { const n = await points(page); return n >= n1 + 5 && n; });
    for (const m of ['grad_norm', 'bits_sent']) assert(await points(page, m) > 0, `no plot of ${m}`);
    assert(await page.locator('figure.chart[data-metric="grad_norm"]').getAttribute('data-scale') === 'log', 'grad_norm (spanning many decades) is not on a log scale');
    // And against time.
    await page.locator('label[for="x-time"]').click();
    await until('the plots to switch to time', async () => (await page.locator('figure.chart[data-metric="objective"] .axis-label').textContent()) === 'time (s)');
    await page.locator('label[for="x-iteration"]').click();
    // A log x axis leaves out iteration 0 and gives the first iterations room.
    const before = await points(page);
    await page.locator('#x-log').click();
    await until('a log x axis', async () => (await page.locator('figure.chart[data-metric="objective"]').getAttribute('data-xscale')) === 'log');
    await shot(page, 'job-running-logx');
    await page.locator('#x-log').click();
    await until('a linear x axis again', async () => (await page.locator('figure.chart[data-metric="objective"]').getAttribute('data-xscale')) === 'linear');
    assert(await points(page) >= before, 'points lost after the x axis toggles');
    log(`  plot grew from ${n1} to ${n2} points`);
    await shot(page, 'job-running');
  }],

  ['the jobs table shows the running job with live progress, filters and a cancel button', async (page) => {
    await page.goto(`${state.base}/#/jobs`);
    const row = page.locator(`tr[data-id="${state.jobId}"]`);
    await row.waitFor();
    assert(await row.getAttribute('data-status') === 'running', 'the job is not running in the table');
    assert(await row.locator('[data-action="cancel"]').isVisible(), 'no cancel button on a running job');
    const it = async () => (await row.locator('.progress-cell').textContent()) || '';
    const first = await it();
    assert(first.includes('it '), `no progress in the row: "${first}"`);
    await until('the row progress to move', async () => (await it()) !== first);
    await page.locator('#f-status').selectOption('running');
    await until('the status filter to apply', async () => page.url().includes('status=running'));
    await row.waitFor();
    await page.locator('#f-status').selectOption('succeeded');
    await until('the running job to be filtered out', async () => (await row.count()) === 0);
    await page.locator('#f-status').selectOption('');
    await page.locator('#f-tag').fill('e2e');
    await until('the tag filter to apply', async () => page.url().includes('tag=e2e'));
    await row.waitFor();
    await shot(page, 'jobs');
  }],

  ['a reload of the job page brings the whole history back', async (page) => {
    await page.goto(`${state.base}/#/jobs/${state.jobId}`);
    const before = await until('the plot before the reload', async () => { const n = await points(page); return n >= 5 && n; });
    await page.reload();
    await until(`at least ${before} points after the reload`, async () => (await points(page)) >= before);
    const after = await points(page);
    await until('the plot to keep growing after the reload', async () => (await points(page)) > after);
    log(`  ${before} points before the reload, ${after} right after it`);
    await shot(page, 'job-reloaded');
  }],

  ['cancel from the job page: the status becomes cancelled and the result is shown', async (page) => {
    await page.goto(`${state.base}/#/jobs/${state.jobId}`);
    await page.locator('#cancel-job').click();
    await page.locator('#job-status [data-status="cancelled"]').waitFor({ timeout: WAIT_MS });
    await until('the stream to finish', async () => /finished/.test(await page.locator('#stream-state').textContent()));
    await until('the result summary', async () => /cancelled/.test(await page.locator('#result-summary').textContent()));
    await until('the download button', async () => page.locator('#download-result').isEnabled());
    const [download] = await Promise.all([page.waitForEvent('download', { timeout: WAIT_MS }), page.locator('#download-result').click()]);
    const file = join(tmp, 'result.json');
    await download.saveAs(file);
    const result = JSON.parse(readFileSync(file, 'utf8'));
    assert(Array.isArray(result.x) && result.x.length === 20, 'the downloaded result has no x of 20 numbers');
    assert(result.status === 'cancelled', `downloaded result status ${result.status}`);
    const n = await points(page);
    await shot(page, 'job-cancelled');
    // A finished job's page, reloaded, replays the same history.
    await page.reload();
    await page.locator('#job-status [data-status="cancelled"]').waitFor();
    await until(`${n} points after reloading the finished job`, async () => (await points(page)) === n);
    assert(await page.locator('#cancel-job').isHidden(), 'a cancel button on a finished job');
  }],

  ['a bad parameter and a bad problem are shown next to their fields', async (page) => {
    await page.goto(`${state.base}/#/submit/distributed.ef21`);
    const field = page.locator('.field[data-path="/params/tol"]');
    await field.locator('input').fill('-1');
    await page.locator('#submit-job').click();
    const err = field.locator('.field-error');
    await err.waitFor({ state: 'visible' });
    const text = await err.textContent();
    assert(/>=\s*0/.test(text), `tol's error says "${text}"`);
    assert(await field.locator('input').getAttribute('aria-invalid') === 'true', 'tol is not marked invalid');
    const errId = await err.getAttribute('id');
    assert((await field.locator('input').getAttribute('aria-describedby')).includes(errId), 'the error is not tied to the input');
    assert(await page.locator('.field-error:visible').count() === 1, 'errors shown at other fields too');
    assert(/\/params\/tol/.test(await page.locator('#form-error').textContent()), 'the summary does not name /params/tol');
    assert(await page.evaluate(() => document.activeElement && document.activeElement.closest('.field')?.dataset.path) === '/params/tol', 'focus is not on tol');
    await shot(page, 'submit-error');
    // A client-side typo never reaches the server.
    await field.locator('input').fill('abc');
    await page.locator('#submit-job').click();
    await until('the parse error at tol', async () => /not a number/.test(await err.textContent()));
    await field.locator('input').fill('');
    // A problem error lands at the problem editor.
    await page.locator('label[for="pm-json"]').click();
    await page.locator('#problem-json').fill(JSON.stringify({ generate: { clients: 4, rows_per_client: 10, dim: 5, colour: 1 } }));
    await page.locator('#submit-job').click();
    const perr = page.locator('#problem-err');
    await perr.waitFor({ state: 'visible' });
    assert(/unknown field/.test(await perr.textContent()), `problem error: ${await perr.textContent()}`);
    assert(/\/problem\/generate\/colour/.test(await page.locator('#form-error').textContent()), 'the summary does not name the problem path');
    await shot(page, 'submit-problem-error');
    const res = await page.evaluate(async () => (await fetch('/v1/jobs')).json());
    assert(res.jobs.length === 1, `rejected jobs were stored (${res.jobs.length} jobs)`);
  }],

  ['the generated-instance form submits a job that succeeds', async (page) => {
    await page.goto(`${state.base}/#/submit/distributed.ef21`);
    await page.locator('label[for="pm-generate"]').click();
    const dim = page.locator('.field[data-path="/problem/generate/dim"] input');
    await dim.waitFor();
    await dim.fill('12');
    await page.locator('#submit-job').click();
    await page.waitForURL(/#\/jobs\/[0-9a-z]+$/, { timeout: WAIT_MS });
    await page.locator('#job-status [data-status="succeeded"]').waitFor({ timeout: WAIT_MS });
    await until('the result summary', async () => /converged|iterations/.test(await page.locator('#result-summary').textContent()));
    await shot(page, 'job-succeeded');
  }],

  ['the jobs table pages with next_cursor', async (page) => {
    await page.goto(`${state.base}/#/jobs?limit=1`);
    const rows = page.locator('table.jobs-table tbody tr');
    await rows.first().waitFor();
    const first = await rows.first().getAttribute('data-id');
    assert(await rows.count() === 1, 'more than one row on a page of one');
    assert(await page.locator('#page-newer').isDisabled(), '"Newer" enabled on the first page');
    await page.locator('#page-older').click();
    await until('the second page', async () => (await rows.first().getAttribute('data-id')) !== first);
    assert(await rows.first().getAttribute('data-id') === state.jobId, 'the second page is not the first job');
    assert(await page.locator('#page-older').isDisabled(), '"Older" enabled on the last page');
    await page.locator('#page-newer').click();
    await until('the first page again', async () => (await rows.first().getAttribute('data-id')) === first);
  }],

  ['the solver catalog lists the solvers and shows a parameter table', async (page) => {
    await page.goto(`${state.base}/#/solvers`);
    const link = page.locator('a[href="#/solvers/distributed.ef21"]');
    await link.waitFor();
    await shot(page, 'solvers');
    await link.click();
    const row = page.locator('.params-table tr', { has: page.locator('th code', { hasText: /^tol$/ }) });
    await row.waitFor();
    assert(/1e-6/.test(await row.textContent()), `tol row: ${await row.textContent()}`);
    assert(await page.locator('text=docs/solvers/distributed/ef21.md').count() > 0, 'no doc page path');
    await shot(page, 'solver');
  }],
];

// ---------------------------------------------------------------- run
let passed = 0, failed = 0;
try {
  mkdirSync(ARTIFACTS, { recursive: true });
  // Only this run's screenshots: an old failed-N.png would mislead.
  for (const f of readdirSync(ARTIFACTS)) if (f.endsWith('.png')) rmSync(join(ARTIFACTS, f));
  assert(existsSync(BIN), `no solvd binary at ${BIN} (pass it as the first argument)`);
  assert(existsSync(CHROMIUM), `no Chromium at ${CHROMIUM} (apt-get install chromium)`);
  state.base = await startDaemon('main');
  log(`e2e: solvd at ${state.base}, dashboard from ${DASHBOARD}`);
  // A persistent context on a new, empty directory: Chromium's --user-data-dir, which
  // playwright takes as this argument rather than as a flag.
  browser = await chromium.launchPersistentContext(join(tmp, 'chromium-profile'), {
    executablePath: CHROMIUM,
    headless: true,
    timeout: WAIT_MS,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1280, height: 900 },
    acceptDownloads: true,
  });
  const context = browser;
  const page = context.pages()[0] || await context.newPage();
  page.setDefaultTimeout(WAIT_MS);
  const pageErrors = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  page.on('console', (m) => { if (m.type() === 'error' && !/status of (401|404|422)/.test(m.text())) pageErrors.push(m.text()); });
  tests.push(['with --tokens: asks for a token, then sends it on every request and on the stream', async (pg) => {
    const url = await startDaemon('auth', ['--tokens', 'sekret-e2e:alice']);
    await pg.goto(`${url}/#/jobs`);
    await pg.locator('#banner').filter({ hasText: 'bearer token' }).waitFor({ state: 'visible' });
    await pg.locator('#banner button').click();
    await pg.locator('#token-input').fill('sekret-e2e');
    await pg.locator('#token-dialog button[value="save"]').click();
    await until('the jobs list with the token', async () => /No jobs yet/.test(await pg.locator('main').textContent()));
    await pg.goto(`${url}/#/submit/distributed.ef21`);
    await pg.locator('#submit-job').click();
    await pg.waitForURL(/#\/jobs\/[0-9a-z]+$/, { timeout: WAIT_MS });
    await pg.locator('#job-status [data-status="succeeded"]').waitFor({ timeout: WAIT_MS });
    await until('the plot from the authorised stream', async () => (await points(pg)) > 0);
    await shot(pg, 'auth-job');
    // Forget the token so that the next runs of the page start clean.
    await pg.evaluate(() => localStorage.removeItem('solvd.token'));
  }]);
  tests.push(['no script errors in the page', async () => {
    assert(pageErrors.length === 0, `errors: ${pageErrors.join(' | ')}`);
  }]);
  for (const [name, fn] of tests) {
    const t0 = Date.now();
    try {
      await fn(page);
      passed++;
      log(`ok   ${name} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
    } catch (e) {
      failed++;
      log(`FAIL ${name}: ${e.message.split('\n')[0]}`);
      await shot(page, `failed-${passed + failed}`).catch(() => {});
    }
  }
} catch (e) {
  failed++;
  log(`FAIL setting up: ${e.message}`);
}
await cleanup();
clearTimeout(watchdog);
log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
