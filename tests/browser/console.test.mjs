// End-to-end test of Meridian's web console in a real headless Chromium.
//
// Starts the real binary (`meridian dev`, three regions of three nodes, in memory, free
// ports), opens /console and drives it as a user would: the regions, nodes and leaders
// render; a table is created and an item put, edited and deleted through the console; a
// replication pause added from the chaos panel makes the lag plot of that region pair rise
// while items are written, and clearing it brings the lag back to zero. Screenshots go to
// docs/console-*.png (the README shows them).
//
// Environment: MERIDIAN_BIN (default: target/debug/meridian), CHROMIUM (default:
// /usr/bin/chromium). Every wait polls with a generous timeout: no timing assertions.

import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, mkdirSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '..', '..');
const bin = process.env.MERIDIAN_BIN || path.join(process.env.CARGO_TARGET_DIR || path.join(repo, 'target'), 'debug', 'meridian');
const chromiumPath = process.env.CHROMIUM || '/usr/bin/chromium';
const docs = path.join(repo, 'docs');
const REGIONS = ['us-east-1', 'eu-west-1', 'ap-southeast-1'];
const TABLE = 'console_orders';
const WAIT_MS = 60_000;

function log(message) {
  console.log(`[console-test ${new Date().toISOString().slice(11, 19)}] ${message}`);
}

/** Starts `meridian dev` and resolves with its shared port's URL once it is ready. */
function startLab() {
  const child = spawn(bin, [
    'dev', '--port', '0', '--in-memory', '--nodes-per-region', '3',
    '--regions', REGIONS.join(','),
  ], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, RUST_LOG: process.env.RUST_LOG || 'warn' } });
  let output = '';
  const ready = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('meridian dev did not get ready:\n' + output)), WAIT_MS);
    const onData = (chunk) => {
      output += chunk.toString();
      // The ready line names the shared port; the first region's line does too.
      const match = output.match(/ready on (http:\/\/[0-9.:\[\]]+)/i)
        || output.match(new RegExp(`${REGIONS[0]} node 1 on (http://[0-9.:\\[\\]]+)`));
      if (match && /ready/i.test(output)) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', (chunk) => { output += chunk.toString(); });
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`meridian dev exited (${code}):\n${output}`)); });
  });
  return { child, ready };
}

/** Polls `check` (async, returns a truthy value when done) until it succeeds. */
async function until(what, check, timeoutMs = WAIT_MS) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      const value = await check();
      if (value) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}` + (last ? `: ${last.message}` : ''));
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function main() {
  assert.ok(existsSync(bin), `no meridian binary at ${bin} (cargo build -p meridian-server)`);
  assert.ok(existsSync(chromiumPath), `no Chromium at ${chromiumPath} (apt-get install -y chromium)`);
  mkdirSync(docs, { recursive: true });
  const lab = startLab();
  const profile = mkdtempSync(path.join(tmpdir(), 'meridian-console-chromium-'));
  let context;
  try {
    const base = await lab.ready;
    log(`meridian dev ready on ${base}`);
    context = await chromium.launchPersistentContext(profile, {
      executablePath: chromiumPath,
      headless: true,
      viewport: { width: 1360, height: 900 },
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync',
        '--disable-dev-shm-usage'],
    });
    const page = context.pages()[0] || await context.newPage();
    const failures = [];
    page.on('pageerror', (error) => failures.push(error.message));
    page.on('dialog', (dialog) => dialog.accept());
    // The page must not fetch anything from elsewhere: it works offline.
    page.on('request', (request) => {
      if (!request.url().startsWith(base)) failures.push('request outside the server: ' + request.url());
    });

    // --- The console refuses its endpoints without its header, and cross-site preflights.
    const refused = await fetch(base + '/_meridian/status');
    assert.equal(refused.status, 403);
    assert.match((await refused.json()).__type, /MissingAuthenticationToken/);
    const preflight = await fetch(base + '/_meridian/chaos/add', {
      method: 'OPTIONS',
      headers: { Origin: 'https://evil.example', 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'x-meridian-console' },
    });
    assert.equal(preflight.status, 403);
    assert.equal(preflight.headers.get('access-control-allow-origin'), null);
    const bad = await fetch(base + '/_meridian/chaos/add', { method: 'POST', headers: { 'x-meridian-console': '1' }, body: '{"fault":{"kind":"nope"}}' });
    assert.equal(bad.status, 400);
    assert.match((await bad.json()).__type, /ValidationException/);

    // --- Regions, nodes and leaders render.
    log('cluster view');
    await page.goto(base + '/console#cluster');
    for (const region of REGIONS) {
      await until(`a leader in ${region}`, async () => {
        const card = page.locator(`[data-testid=region][data-region="${region}"]`);
        const leader = await card.getAttribute('data-leader', { timeout: 1000 });
        const nodes = await card.locator('[data-testid=node]').count();
        const leaders = await card.locator('[data-testid=node][data-role=leader]').count();
        return leader !== '' && nodes === 3 && leaders === 1;
      });
    }
    assert.equal(await page.locator('[data-testid=region]').count(), 3);
    await until('six region pairs', async () => (await page.locator('[data-testid=lag-plot]').count()) === 6);

    // --- A table, created through the console.
    log('create a table');
    await page.click('[data-testid=nav-tables]');
    await page.fill('[data-testid=create-name]', TABLE);
    await page.fill('[data-testid=create-pk]', 'id');
    await page.click('[data-testid=create-submit]');
    await page.locator(`[data-testid=table-entry][data-table="${TABLE}"]`).waitFor({ timeout: WAIT_MS });
    await until('the table detail', async () => (await page.textContent('[data-testid=table-name]', { timeout: 1000 })).includes(TABLE));
    assert.match(await page.textContent('[data-testid=key-schema]'), /id \(S, partition\)/);

    // --- Put, edit and delete an item through the console.
    log('put, edit, delete an item');
    const putThroughEditor = async (json) => {
      await page.click('[data-testid=item-new]');
      await page.fill('[data-testid=editor-text]', json);
      await page.click('[data-testid=editor-save]');
    };
    await putThroughEditor('{"id": {"S": "a1"}, "qty": {"N": "1"}, "note": {"S": "first"}}');
    const row = page.locator('[data-testid=item][data-key="a1"]');
    await row.waitFor({ timeout: WAIT_MS });
    assert.equal(await row.locator('[data-attr=qty]').textContent(), '1');
    await row.locator('[data-testid=item-edit]').click();
    const edited = JSON.parse(await page.inputValue('[data-testid=editor-text]'));
    edited.qty = { N: '2' };
    await page.fill('[data-testid=editor-text]', JSON.stringify(edited));
    await page.click('[data-testid=editor-save]');
    await until('the edited quantity', async () => (await row.locator('[data-attr=qty]').textContent({ timeout: 1000 })) === '2');
    for (const [id, qty, note] of [['b1', 5, 'five'], ['b2', 7, 'seven'], ['c9', 12, 'a dozen']]) {
      await putThroughEditor(`{"id": {"S": "${id}"}, "qty": {"N": "${qty}"}, "note": {"S": "${note}"}}`);
      await page.locator(`[data-testid=item][data-key="${id}"]`).waitFor({ timeout: WAIT_MS });
    }
    await row.locator('[data-testid=item-delete]').click();
    await until('the deleted item gone', async () => (await row.count()) === 0);
    // A Query by partition key finds exactly one item.
    await page.fill('[data-testid=query-pk]', 'b2');
    await page.click('[data-testid=query-run]');
    await until('the query result', async () => (await page.locator('[data-testid=item]').count()) === 1
      && (await page.locator('[data-testid=item][data-key="b2"]').count()) === 1);
    await page.fill('[data-testid=query-pk]', '');
    await page.click('[data-testid=query-run]');
    await until('the scan result', async () => (await page.locator('[data-testid=item]').count()) === 3);
    await page.screenshot({ path: path.join(docs, 'console-tables.png') });

    // --- A table with a sort key: Query with a sort-key condition, and paging.
    log('query with a sort-key condition');
    await page.fill('[data-testid=create-name]', 'console_events');
    await page.fill('[data-testid=create-pk]', 'device');
    await page.fill('[data-testid=create-sk]', 'at');
    await page.click('[data-testid=create-submit]');
    await until('the second table', async () => (await page.textContent('[data-testid=table-name]', { timeout: 1000 })).includes('console_events'));
    assert.match(await page.textContent('[data-testid=key-schema]'), /device \(S, partition\), at \(S, sort\)/);
    for (const at of ['2024-01-01', '2024-01-02', '2024-02-01', '2025-01-01']) {
      await putThroughEditor(`{"device": {"S": "d1"}, "at": {"S": "${at}"}}`);
      await page.locator(`[data-testid=item][data-key="d1|${at}"]`).waitFor({ timeout: WAIT_MS });
    }
    await page.fill('[data-testid=query-pk]', 'd1');
    await page.selectOption('#sk-op', 'begins_with');
    await page.fill('[data-testid=query-sk1]', '2024-01');
    await page.fill('input[name=limit]', '1');
    await page.click('[data-testid=query-run]');
    await until('the first page of the query', async () => (await page.locator('[data-testid=item]').count()) === 1
      && (await page.locator('[data-testid=item][data-key="d1|2024-01-01"]').count()) === 1);
    await page.click('[data-testid=page-next]');
    await until('the second page of the query', async () => (await page.locator('[data-testid=item][data-key="d1|2024-01-02"]').count()) === 1);
    await page.click('[data-testid=page-prev]');
    await until('the first page again', async () => (await page.locator('[data-testid=item][data-key="d1|2024-01-01"]').count()) === 1);

    // --- Pause replication us-east-1 → eu-west-1 from the chaos panel.
    log('pause replication');
    await page.click('[data-testid=nav-chaos]');
    await page.selectOption('[data-testid=fault-kind]', 'pause-replication');
    await until('the table in the fault form', async () => (await page.locator(`[data-testid=fault-table] option[value="${TABLE}"]`).count()) === 1);
    await page.selectOption('[data-testid=fault-table]', TABLE);
    await page.selectOption('[data-testid=fault-source]', 'us-east-1');
    await page.selectOption('[data-testid=fault-destination]', 'eu-west-1');
    await page.fill('[data-testid=fault-duration]', '600');
    await page.click('[data-testid=fault-add]');
    const fault = page.locator('[data-testid=fault][data-kind=pause-replication]');
    await fault.waitFor({ timeout: WAIT_MS });
    assert.match(await fault.locator('[data-testid=fault-left]').textContent(), /min|s/);

    // --- Writes queue up: the lag plot of that pair rises.
    log('write while paused');
    await page.click('[data-testid=nav-cluster]');
    const plot = page.locator('[data-testid=lag-plot][data-pair="us-east-1→eu-west-1"]');
    let written = 0;
    const put = async () => {
      written += 1;
      const response = await fetch(base + '/', {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-amz-json-1.0', 'X-Amz-Target': 'DynamoDB_20120810.PutItem' },
        body: JSON.stringify({ TableName: TABLE, Item: { id: { S: `w${written}` }, qty: { N: String(written) } } }),
      });
      assert.equal(response.status, 200, await response.text());
    };
    await until('the lag to rise above 4 s', async () => {
      await put();
      const lag = Number(await plot.getAttribute('data-latest-lag-ms', { timeout: 1000 }));
      const pending = Number(await plot.getAttribute('data-latest-pending', { timeout: 1000 }));
      return lag > 4000 && pending > 0;
    });
    // The other direction of the pause is untouched.
    const other = page.locator('[data-testid=lag-plot][data-pair="us-east-1→ap-southeast-1"]');
    await until('the unpaused pair to be caught up', async () => Number(await other.getAttribute('data-latest-pending', { timeout: 1000 })) === 0);
    log(`lag ${await plot.getAttribute('data-latest-lag-ms')} ms after ${written} writes`);
    await page.click('[data-testid=nav-chaos]');
    await page.screenshot({ path: path.join(docs, 'console-chaos.png') });

    // --- Clear the fault from the panel: the lag falls back to zero.
    log('clear the fault');
    await fault.locator('[data-testid=fault-clear]').click();
    await until('the fault gone', async () => (await fault.count()) === 0);
    await page.click('[data-testid=nav-cluster]');
    await until('the lag to fall back to zero', async () => {
      const lag = Number(await plot.getAttribute('data-latest-lag-ms', { timeout: 1000 }));
      const pending = Number(await plot.getAttribute('data-latest-pending', { timeout: 1000 }));
      return lag === 0 && pending === 0;
    });
    assert.ok(Number(await plot.getAttribute('data-peak-lag-ms')) > 4000, 'the plot keeps the peak');
    // Let a few zero samples in so the plot shows the fall.
    const samples = Number(await plot.getAttribute('data-samples'));
    await until('more samples', async () => Number(await plot.getAttribute('data-samples', { timeout: 1000 })) >= samples + 3);
    await page.screenshot({ path: path.join(docs, 'console-cluster.png'), fullPage: true });

    assert.deepEqual(failures, [], 'page errors or outside requests');
    log('ok');
  } finally {
    if (context) await context.close().catch(() => {});
    lab.child.kill('SIGTERM');
    await new Promise((resolve) => {
      if (lab.child.exitCode !== null) return resolve();
      const timer = setTimeout(() => { lab.child.kill('SIGKILL'); resolve(); }, 15_000);
      lab.child.on('exit', () => { clearTimeout(timer); resolve(); });
    });
    rmSync(profile, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
