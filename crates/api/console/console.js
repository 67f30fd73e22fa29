// Meridian's web console. Plain JavaScript, no dependencies: everything it loads comes from
// the server it talks to. Tables and items go through the DynamoDB API (POST / with
// X-Amz-Target); the cluster status and the chaos controls through the console's own
// endpoints, which need the x-meridian-console header.
'use strict';

const STATUS_POLL_MS = 1000;
const LAG_WINDOW_MS = 5 * 60 * 1000;
// The plot's time axis spans the samples kept, at least this much.
const LAG_SPAN_MIN_MS = 30 * 1000;
const ARROW = '\u2192';

// ---------- small DOM helpers ----------

function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.appendChild(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

function svg(tag, attrs, ...children) {
  const el = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, String(v));
  for (const c of children) el.appendChild(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}

const $ = (id) => document.getElementById(id);

function replace(el, ...children) {
  el.replaceChildren(...children.flat().filter((c) => c !== null && c !== undefined));
}

function showError(el, error) {
  if (!error) { el.hidden = true; el.textContent = ''; return; }
  el.hidden = false;
  el.textContent = error.message || String(error);
}

// ---------- calls ----------

async function ddb(operation, body) {
  const response = await fetch('/', {
    method: 'POST',
    headers: {
      'Content-Type': 'application/x-amz-json-1.0',
      'X-Amz-Target': 'DynamoDB_20120810.' + operation,
    },
    body: JSON.stringify(body || {}),
  });
  const text = await response.text();
  let data;
  try { data = text ? JSON.parse(text) : {}; } catch (_) { data = { message: text }; }
  if (!response.ok) {
    const type = String(data.__type || 'Error').split('#').pop();
    throw new Error(type + ': ' + (data.message || data.Message || response.statusText));
  }
  return data;
}

async function consoleCall(path, body) {
  const init = { headers: { 'x-meridian-console': '1' } };
  if (body !== undefined) {
    init.method = 'POST';
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  const text = await response.text();
  let data;
  try { data = text ? JSON.parse(text) : {}; } catch (_) { data = { message: text }; }
  if (!response.ok) {
    const type = String(data.__type || 'Error').split('#').pop();
    throw new Error(type + ': ' + (data.message || response.statusText));
  }
  return data;
}

// ---------- views ----------

function showView(name) {
  for (const view of ['cluster', 'tables', 'chaos']) {
    $('view-' + view).hidden = view !== name;
  }
  for (const a of document.querySelectorAll('nav a')) {
    a.classList.toggle('active', a.dataset.view === name);
  }
  if (name === 'tables') loadTables();
  if (name === 'chaos') { loadTables(); renderFaultFields(true); }
}

function currentView() {
  const name = location.hash.replace('#', '');
  return ['cluster', 'tables', 'chaos'].includes(name) ? name : 'cluster';
}

// ---------- cluster status ----------

const state = {
  status: null,
  history: new Map(), // "src→dst" -> [{t, lag, pending}]
  tables: [],
  polling: false,
};

async function poll() {
  if (state.polling) return;
  state.polling = true;
  try {
    const status = await consoleCall('/_meridian/status');
    state.status = status;
    record(status);
    renderCluster(status);
    renderFaults(status.faults || []);
    const conn = $('conn');
    conn.classList.remove('down');
    conn.textContent = 'serving ' + status.serving_region + ' · updated ' + new Date(status.now_ms).toLocaleTimeString();
  } catch (error) {
    const conn = $('conn');
    conn.classList.add('down');
    conn.textContent = 'no answer: ' + error.message;
  } finally {
    state.polling = false;
  }
}

function pairKey(p) { return p.source + ARROW + p.destination; }

function record(status) {
  const t = status.now_ms;
  for (const p of status.pairs || []) {
    const key = pairKey(p);
    let samples = state.history.get(key);
    if (!samples) { samples = []; state.history.set(key, samples); }
    samples.push({ t, lag: p.lag_ms, pending: p.pending });
    while (samples.length && samples[0].t < t - LAG_WINDOW_MS) samples.shift();
  }
}

function roleBadge(role) {
  return h('span', { class: 'role ' + role, 'data-role': role }, role);
}

function renderCluster(status) {
  replace($('regions'), (status.regions || []).map((region) =>
    h('div', {
      class: 'card', 'data-testid': 'region', 'data-region': region.name,
      'data-leader': region.leader ?? '', 'data-term': region.term ?? '',
    },
    h('h3', {}, h('span', {}, region.name, region.name === status.serving_region ? ' ★' : ''),
      h('span', { class: 'meta' }, 'leader ', region.leader ?? '—', ' · term ', region.term ?? '—')),
    h('table', { class: 'grid' },
      h('thead', {}, h('tr', {}, ['node', 'role', 'term', 'leader', 'applied', 'API'].map((c) => h('th', {}, c)))),
      h('tbody', {}, region.nodes.map((n) => h('tr', { 'data-testid': 'node', 'data-node': n.id, 'data-role': n.role },
        h('td', { class: 'num' }, n.id),
        h('td', {}, roleBadge(n.role)),
        h('td', { class: 'num' }, n.term ?? '—'),
        h('td', { class: 'num' }, n.leader ?? '—'),
        h('td', { class: 'num' }, n.applied_index ?? '—'),
        h('td', {}, n.api_addr ?? '—'))))))));

  const pairs = status.pairs || [];
  replace($('pairs'), pairs.length ? pairs.map((p) => h('tr', { 'data-testid': 'pair', 'data-pair': pairKey(p) },
    h('td', {}, p.source), h('td', {}, p.destination),
    h('td', { class: 'num' }, p.lag_ms), h('td', { class: 'num' }, p.pending),
    h('td', { class: 'num' }, p.conflicts), h('td', { class: 'num' }, p.sent),
    h('td', { class: 'num' }, p.applied)))
    : h('tr', {}, h('td', { colspan: 7, class: 'hint' }, 'This region replicates to no other region.')));

  renderPlots(pairs, status.now_ms);

  const tombstones = status.tombstones || [];
  replace($('tombstones'), tombstones.length
    ? h('table', { class: 'grid' }, h('thead', {}, h('tr', {}, h('th', {}, 'region'), h('th', {}, 'table'), h('th', {}, 'held'))),
      h('tbody', {}, tombstones.map((t) => h('tr', {}, h('td', {}, t.region), h('td', {}, t.table), h('td', { class: 'num' }, t.held)))))
    : h('p', { class: 'hint' }, 'No global tables.'));

  const faults = status.faults || [];
  replace($('fault-summary'), faults.length
    ? h('ul', {}, faults.map((f) => h('li', {}, f.kind, ': ', describeFault(f.fault), f.remaining_ms != null ? ' (' + formatMs(f.remaining_ms) + ' left)' : '')))
    : h('p', { class: 'hint' }, 'None.'));
}

// One SVG chart per region pair: the lag (ms) over the last five minutes.
function renderPlots(pairs, now) {
  const container = $('plots');
  const W = 380, H = 130, L = 44, R = 8, T = 8, B = 18;
  const charts = pairs.map((p) => {
    const key = pairKey(p);
    const samples = state.history.get(key) || [];
    const maxLag = Math.max(1000, ...samples.map((s) => s.lag));
    const step = niceStep(maxLag * 1.05 / 4);
    const top = 4 * step;
    const span = Math.min(LAG_WINDOW_MS, Math.max(LAG_SPAN_MIN_MS, samples.length ? now - samples[0].t : 0));
    const x = (t) => L + (W - L - R) * (1 - (now - t) / span);
    const y = (v) => T + (H - T - B) * (1 - v / top);
    const chart = svg('svg', { width: W, height: H, viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': 'replication lag ' + key });
    for (let i = 0; i <= 4; i++) {
      const v = step * i;
      chart.appendChild(svg('line', { class: 'gridline', x1: L, x2: W - R, y1: y(v), y2: y(v) }));
      chart.appendChild(svg('text', { x: L - 4, y: y(v) + 3, 'text-anchor': 'end' }, formatLag(v)));
    }
    chart.appendChild(svg('line', { class: 'axis', x1: L, x2: L, y1: T, y2: H - B }));
    chart.appendChild(svg('line', { class: 'axis', x1: L, x2: W - R, y1: H - B, y2: H - B }));
    for (const [ago, anchor] of [[span, 'start'], [span / 2, 'middle'], [0, 'end']]) {
      chart.appendChild(svg('text', { x: x(now - ago), y: H - 4, 'text-anchor': anchor }, ago === 0 ? 'now' : '-' + formatAgo(ago)));
    }
    if (samples.length) {
      const points = samples.map((s) => `${x(s.t).toFixed(1)},${y(s.lag).toFixed(1)}`);
      const first = samples[0], last = samples[samples.length - 1];
      chart.appendChild(svg('polygon', { class: 'area', points: `${x(first.t).toFixed(1)},${y(0)} ${points.join(' ')} ${x(last.t).toFixed(1)},${y(0)}` }));
      chart.appendChild(svg('polyline', { class: 'line', points: points.join(' ') }));
    }
    const latest = samples.length ? samples[samples.length - 1] : { lag: p.lag_ms, pending: p.pending };
    const peak = samples.reduce((m, s) => Math.max(m, s.lag), 0);
    return h('div', {
      class: 'plot', 'data-testid': 'lag-plot', 'data-pair': key,
      'data-latest-lag-ms': latest.lag, 'data-latest-pending': latest.pending,
      'data-peak-lag-ms': peak, 'data-samples': samples.length,
    },
    h('div', { class: 'title' }, h('span', {}, key),
      h('span', {}, 'lag ', h('b', { class: latest.lag > 1000 ? 'hot' : '' }, formatLag(latest.lag)), ' · pending ', latest.pending)),
    chart);
  });
  replace(container, charts.length ? charts : [h('p', { class: 'hint' }, 'No region pairs.')]);
}

// The smallest 1, 2 or 5 × 10^k at least `v`.
function niceStep(v) {
  const exp = Math.pow(10, Math.floor(Math.log10(v)));
  for (const m of [1, 2, 5, 10]) if (m * exp >= v) return m * exp;
  return 10 * exp;
}

function formatAgo(ms) {
  const s = Math.round(ms / 1000);
  return s < 120 ? s + 's' : (s / 60).toFixed(1).replace(/\.0$/, '') + 'm';
}

function formatLag(ms) {
  if (ms >= 60000) return (ms / 60000).toFixed(1).replace(/\.0$/, '') + ' min';
  if (ms >= 1000) return (ms / 1000).toFixed(1).replace(/\.0$/, '') + ' s';
  return Math.round(ms) + ' ms';
}

function formatMs(ms) {
  const s = Math.ceil(ms / 1000);
  if (s < 60) return s + ' s';
  return Math.floor(s / 60) + ' min ' + String(s % 60).padStart(2, '0') + ' s';
}

// ---------- tables ----------

const tableState = {
  selected: null,     // DescribeTable's Table
  keys: [],           // [{name, type, role}] of the table
  startKeys: [null],  // the ExclusiveStartKey of each page so far
  page: 0,
  lastKey: null,
  items: [],
  query: null,        // the submitted query form's values
};

async function loadTables() {
  try {
    const names = [];
    let start;
    do {
      const out = await ddb('ListTables', start ? { ExclusiveStartTableName: start } : {});
      names.push(...(out.TableNames || []));
      start = out.LastEvaluatedTableName;
    } while (start);
    state.tables = names;
    const selected = tableState.selected && tableState.selected.TableName;
    replace($('table-list'), names.length
      ? names.map((name) => h('li', {
        class: name === selected ? 'selected' : '', 'data-testid': 'table-entry', 'data-table': name,
        onclick: () => selectTable(name),
      }, name))
      : h('li', { class: 'empty' }, 'No tables yet.'));
    if (state.status) $('tables-region').textContent = 'in ' + state.status.serving_region;
    renderFaultFields(true);
  } catch (error) {
    showError($('table-error'), error);
  }
}

async function selectTable(name) {
  showError($('table-error'), null);
  try {
    const { Table: table } = await ddb('DescribeTable', { TableName: name });
    let ttl = null;
    try { ttl = (await ddb('DescribeTimeToLive', { TableName: name })).TimeToLiveDescription; } catch (_) { /* shown as unknown */ }
    tableState.selected = table;
    const types = Object.fromEntries((table.AttributeDefinitions || []).map((d) => [d.AttributeName, d.AttributeType]));
    tableState.keys = (table.KeySchema || []).map((k) => ({ name: k.AttributeName, type: types[k.AttributeName], role: k.KeyType }));
    for (const li of document.querySelectorAll('#table-list li')) li.classList.toggle('selected', li.dataset.table === name);
    renderTableDetail(table, ttl, types);
    const index = $('query-index');
    replace(index, h('option', { value: '' }, '(table)'),
      [...(table.GlobalSecondaryIndexes || []), ...(table.LocalSecondaryIndexes || [])]
        .map((i) => h('option', { value: i.IndexName }, i.IndexName)));
    $('items-panel').hidden = false;
    $('editor').hidden = true;
    $('query-form').reset();
    tableState.query = readQueryForm();
    updateKeyLabel();
    await runPage(0, [null]);
  } catch (error) {
    showError($('table-error'), error);
  }
}

function keyText(schema, types) {
  return (schema || []).map((k) => `${k.AttributeName} (${types[k.AttributeName] || '?'}, ${k.KeyType === 'HASH' ? 'partition' : 'sort'})`).join(', ');
}

function renderTableDetail(table, ttl, types) {
  const indexes = [
    ...(table.GlobalSecondaryIndexes || []).map((i) => ['GSI', i]),
    ...(table.LocalSecondaryIndexes || []).map((i) => ['LSI', i]),
  ];
  const stream = table.StreamSpecification && table.StreamSpecification.StreamEnabled
    ? 'enabled (' + table.StreamSpecification.StreamViewType + ')' : 'disabled';
  const ttlText = ttl ? ttl.TimeToLiveStatus + (ttl.AttributeName ? ' on ' + ttl.AttributeName : '') : 'unknown';
  const replicas = (table.Replicas || []).map((r) => r.RegionName + ' ' + (r.ReplicaStatus || '')).join(', ');
  replace($('table-detail'),
    h('h2', { 'data-testid': 'table-name' }, table.TableName, ' ', h('span', { class: 'hint' }, table.TableStatus)),
    h('dl', { class: 'kv' },
      h('dt', {}, 'Key schema'), h('dd', { 'data-testid': 'key-schema' }, keyText(table.KeySchema, types)),
      h('dt', {}, 'Items'), h('dd', { 'data-testid': 'item-count' }, table.ItemCount ?? 0, h('span', { class: 'hint' }, ' (', table.TableSizeBytes ?? 0, ' bytes)')),
      h('dt', {}, 'Billing'), h('dd', {}, (table.BillingModeSummary && table.BillingModeSummary.BillingMode) || 'PROVISIONED'),
      h('dt', {}, 'Stream'), h('dd', { 'data-testid': 'stream' }, stream),
      h('dt', {}, 'Time to live'), h('dd', { 'data-testid': 'ttl' }, ttlText),
      h('dt', {}, 'Replicas'), h('dd', {}, replicas || '(none)'),
      h('dt', {}, 'Indexes'), h('dd', { 'data-testid': 'indexes' }, indexes.length
        ? h('table', { class: 'grid' }, h('tbody', {}, indexes.map(([kind, i]) => h('tr', {},
          h('td', {}, kind), h('td', {}, i.IndexName), h('td', {}, keyText(i.KeySchema, types)),
          h('td', {}, (i.Projection && i.Projection.ProjectionType) || ''), h('td', {}, i.IndexStatus || '')))))
        : '(none)')));
}

function indexKeys(indexName) {
  const table = tableState.selected;
  if (!indexName) return tableState.keys;
  const types = Object.fromEntries((table.AttributeDefinitions || []).map((d) => [d.AttributeName, d.AttributeType]));
  const index = [...(table.GlobalSecondaryIndexes || []), ...(table.LocalSecondaryIndexes || [])].find((i) => i.IndexName === indexName);
  return ((index && index.KeySchema) || []).map((k) => ({ name: k.AttributeName, type: types[k.AttributeName], role: k.KeyType }));
}

function updateKeyLabel() {
  const keys = indexKeys($('query-index').value);
  const pk = keys.find((k) => k.role === 'HASH');
  const sk = keys.find((k) => k.role === 'RANGE');
  $('pk-label').textContent = pk ? `${pk.name} (${pk.type})` : 'Partition key';
  $('sk-op').disabled = !sk;
}

function readQueryForm() {
  const form = new FormData($('query-form'));
  return {
    index: form.get('index') || '',
    pk: String(form.get('pk') || ''),
    op: String(form.get('op') || ''),
    sk1: String(form.get('sk1') || ''),
    sk2: String(form.get('sk2') || ''),
    limit: Math.max(1, Math.min(1000, Number(form.get('limit')) || 25)),
  };
}

function typed(type, text) {
  if (type === 'N') {
    if (!/^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$/.test(text)) throw new Error('ValidationException: ' + JSON.stringify(text) + ' is not a number');
    return { N: text.trim() };
  }
  if (type === 'B') return { B: text };
  return { S: text };
}

function buildRequest(query, startKey) {
  const table = tableState.selected;
  const request = { TableName: table.TableName, Limit: query.limit };
  if (query.index) request.IndexName = query.index;
  if (startKey) request.ExclusiveStartKey = startKey;
  if (!query.pk) return ['Scan', request];
  const keys = indexKeys(query.index);
  const pk = keys.find((k) => k.role === 'HASH');
  const sk = keys.find((k) => k.role === 'RANGE');
  const names = { '#pk': pk.name };
  const values = { ':pk': typed(pk.type, query.pk) };
  let condition = '#pk = :pk';
  if (sk && query.op) {
    names['#sk'] = sk.name;
    values[':a'] = typed(sk.type, query.sk1);
    if (query.op === 'begins_with') condition += ' AND begins_with(#sk, :a)';
    else if (query.op === 'between') {
      values[':b'] = typed(sk.type, query.sk2);
      condition += ' AND #sk BETWEEN :a AND :b';
    } else condition += ` AND #sk ${query.op} :a`;
  }
  Object.assign(request, { KeyConditionExpression: condition, ExpressionAttributeNames: names, ExpressionAttributeValues: values });
  return ['Query', request];
}

async function runPage(page, startKeys) {
  showError($('table-error'), null);
  try {
    const [operation, request] = buildRequest(tableState.query, startKeys[page]);
    const out = await ddb(operation, request);
    tableState.page = page;
    tableState.startKeys = startKeys;
    tableState.items = out.Items || [];
    tableState.lastKey = out.LastEvaluatedKey || null;
    renderItems(operation);
  } catch (error) {
    showError($('table-error'), error);
  }
}

function renderValue(v) {
  const [type, value] = Object.entries(v || {})[0] || ['', ''];
  switch (type) {
    case 'S': case 'N': case 'B': return String(value);
    case 'BOOL': return String(value);
    case 'NULL': return 'null';
    case 'SS': case 'NS': case 'BS': return '{' + value.join(', ') + '}';
    default: return JSON.stringify(v);
  }
}

function itemKey(item) {
  return Object.fromEntries(tableState.keys.map((k) => [k.name, item[k.name]]));
}

function renderItems(operation) {
  const items = tableState.items;
  const keyNames = tableState.keys.map((k) => k.name);
  const others = [...new Set(items.flatMap((i) => Object.keys(i)))].filter((n) => !keyNames.includes(n)).sort();
  const columns = [...keyNames, ...others];
  replace($('items'),
    h('thead', {}, h('tr', {}, columns.map((c) => h('th', {}, c)), h('th', {}, ''))),
    h('tbody', {}, items.length ? items.map((item) => {
      const id = keyNames.map((k) => renderValue(item[k])).join('|');
      return h('tr', { 'data-testid': 'item', 'data-key': id },
        columns.map((c) => h('td', { class: 'value', 'data-attr': c, title: item[c] ? JSON.stringify(item[c]) : '' }, item[c] ? renderValue(item[c]) : '')),
        h('td', {},
          h('button', { type: 'button', 'data-testid': 'item-edit', onclick: () => openEditor(item) }, 'Edit'), ' ',
          h('button', { type: 'button', class: 'danger', 'data-testid': 'item-delete', onclick: () => deleteItem(item) }, 'Delete')));
    }) : h('tr', {}, h('td', { colspan: columns.length + 1, class: 'hint' }, 'No items.'))));
  $('page-info').textContent = `${operation} page ${tableState.page + 1}: ${items.length} item(s)` + (tableState.lastKey ? ', more' : '');
  $('page-prev').disabled = tableState.page === 0;
  $('page-next').disabled = !tableState.lastKey;
}

function openEditor(item) {
  const editor = $('editor');
  editor.hidden = false;
  editor.dataset.mode = item ? 'edit' : 'new';
  $('editor-title').textContent = item ? 'Edit item' : 'New item';
  const template = item || Object.fromEntries(tableState.keys.map((k) => [k.name, { [k.type || 'S']: k.type === 'N' ? '0' : '' }]));
  $('editor-text').value = JSON.stringify(template, null, 2);
  $('editor-text').focus();
}

async function saveItem() {
  showError($('table-error'), null);
  let item;
  try {
    item = JSON.parse($('editor-text').value);
    if (!item || typeof item !== 'object' || Array.isArray(item)) throw new Error('an item is a JSON object of attributes');
  } catch (error) {
    showError($('table-error'), new Error('Not valid DynamoDB JSON: ' + error.message));
    return;
  }
  try {
    await ddb('PutItem', { TableName: tableState.selected.TableName, Item: item });
    $('editor').hidden = true;
    await refreshTable();
  } catch (error) {
    showError($('table-error'), error);
  }
}

async function deleteItem(item) {
  const key = itemKey(item);
  if (!confirm('Delete the item ' + JSON.stringify(key) + '?')) return;
  try {
    await ddb('DeleteItem', { TableName: tableState.selected.TableName, Key: key });
    await refreshTable();
  } catch (error) {
    showError($('table-error'), error);
  }
}

async function refreshTable() {
  const { Table: table } = await ddb('DescribeTable', { TableName: tableState.selected.TableName });
  tableState.selected = table;
  const count = document.querySelector('[data-testid=item-count]');
  if (count) count.firstChild.textContent = table.ItemCount ?? 0;
  await runPage(tableState.page, tableState.startKeys);
}

async function createTable(event) {
  event.preventDefault();
  showError($('table-error'), null);
  const form = new FormData(event.target);
  const name = String(form.get('name')).trim();
  const definitions = [{ AttributeName: String(form.get('pk')).trim(), AttributeType: form.get('pkType') }];
  const schema = [{ AttributeName: definitions[0].AttributeName, KeyType: 'HASH' }];
  const sk = String(form.get('sk') || '').trim();
  if (sk) {
    definitions.push({ AttributeName: sk, AttributeType: form.get('skType') });
    schema.push({ AttributeName: sk, KeyType: 'RANGE' });
  }
  try {
    await ddb('CreateTable', { TableName: name, AttributeDefinitions: definitions, KeySchema: schema, BillingMode: 'PAY_PER_REQUEST' });
    event.target.reset();
    await loadTables();
    await selectTable(name);
  } catch (error) {
    showError($('table-error'), error);
  }
}

// ---------- chaos ----------

function describeFault(f) {
  const any = (v) => v ?? 'any';
  switch (f.kind) {
    case 'pause-replication': return `table ${f.table}, ${any(f.source)} ${ARROW} ${any(f.destination)}`;
    case 'partition-region': return `${f.region} (${f.direction || 'both'})`;
    case 'partition-node': return `${f.region} node ${f.node}`;
    case 'link-delay': return `${any(f.source)} ${ARROW} ${any(f.destination)}: +${f.latency_ms || 0} ms` + (f.jitter_ms ? ` ±${f.jitter_ms}` : '') + (f.drop_probability ? `, drop ${f.drop_probability}` : '');
    case 'clock-skew': return `${f.region}${f.node != null ? ' node ' + f.node : ''}: ${f.offset_ms > 0 ? '+' : ''}${f.offset_ms} ms`;
    case 'inject-error': return `${f.error || 'delay only'} on ${any(f.operation)} / ${any(f.table)}` + (f.rate != null ? `, rate ${f.rate}` : '') + (f.count != null ? `, ${f.count}×` : '') + (f.delay_ms ? `, +${f.delay_ms} ms` : '');
    default: return JSON.stringify(f);
  }
}

function renderFaults(faults) {
  replace($('faults'), faults.length ? faults.map((f) => h('tr', { 'data-testid': 'fault', 'data-fault': f.id, 'data-kind': f.kind },
    h('td', {}, f.id), h('td', {}, f.kind), h('td', {}, describeFault(f.fault)),
    h('td', {}, f.duration || 'until cleared'),
    h('td', { 'data-testid': 'fault-left' }, f.remaining_ms != null ? formatMs(f.remaining_ms) : '—'),
    h('td', { class: 'num' }, f.fired),
    h('td', {}, h('button', { type: 'button', class: 'danger', 'data-testid': 'fault-clear', onclick: () => clearFaults(f.id) }, 'Clear'))))
    : h('tr', {}, h('td', { colspan: 7, class: 'hint' }, 'No active faults.')));
}

async function clearFaults(id) {
  showError($('chaos-error'), null);
  try {
    await consoleCall('/_meridian/chaos/clear', id ? { id } : {});
    const list = await consoleCall('/_meridian/chaos/list');
    renderFaults(list.faults || []);
  } catch (error) {
    showError($('chaos-error'), error);
  }
}

const FAULT_FIELDS = {
  'pause-replication': [['table', 'table', true], ['source', 'region'], ['destination', 'region']],
  'partition-region': [['region', 'region', true], ['direction', ['both', 'outbound', 'inbound']]],
  'partition-node': [['region', 'region', true], ['node', 'int', true]],
  'link-delay': [['source', 'region'], ['destination', 'region'], ['latency_ms', 'int'], ['jitter_ms', 'int'], ['drop_probability', 'float']],
  'clock-skew': [['region', 'region', true], ['node', 'int'], ['offset_ms', 'int', true]],
  'inject-error': [['operation', 'text'], ['table', 'table'],
    ['error', ['', 'ProvisionedThroughputExceededException', 'ThrottlingException', 'RequestLimitExceeded', 'InternalServerError', 'ServiceUnavailable']],
    ['rate', 'float'], ['count', 'int'], ['delay_ms', 'int']],
};

function renderFaultFields(keepValues) {
  const kind = $('fault-kind').value;
  const container = $('fault-fields');
  const previous = keepValues ? Object.fromEntries(new FormData($('fault-form'))) : {};
  const regions = ((state.status && state.status.regions) || []).map((r) => r.name);
  replace(container, FAULT_FIELDS[kind].map(([name, type, required]) => {
    let input;
    const testid = 'fault-' + name.replace(/_/g, '-');
    if (type === 'region' || type === 'table' || Array.isArray(type)) {
      const options = Array.isArray(type) ? type : type === 'region' ? regions : state.tables;
      input = h('select', { name, 'data-testid': testid },
        !Array.isArray(type) && !required ? h('option', { value: '' }, '(any)') : null,
        options.map((o) => h('option', { value: o }, o === '' ? '(none: delay only)' : o)));
    } else {
      input = h('input', {
        name, 'data-testid': testid, required: required || null, class: 'narrow',
        type: type === 'text' ? 'text' : 'number', step: type === 'float' ? 'any' : '1',
        placeholder: required ? '' : 'any',
      });
    }
    if (previous[name] !== undefined) input.value = previous[name];
    return h('label', {}, name.replace(/_/g, ' '), ' ', input);
  }));
}

async function addFault(event) {
  event.preventDefault();
  showError($('chaos-error'), null);
  const form = new FormData(event.target);
  const kind = form.get('kind');
  const fault = { kind };
  for (const [name, type] of FAULT_FIELDS[kind]) {
    const raw = String(form.get(name) ?? '').trim();
    if (raw === '') continue;
    fault[name] = type === 'int' ? parseInt(raw, 10) : type === 'float' ? parseFloat(raw) : raw;
  }
  const seconds = String(form.get('duration') || '').trim();
  const body = { fault };
  if (seconds) body.duration = 'PT' + seconds + 'S';
  try {
    await consoleCall('/_meridian/chaos/add', body);
    const list = await consoleCall('/_meridian/chaos/list');
    renderFaults(list.faults || []);
  } catch (error) {
    showError($('chaos-error'), error);
  }
}

// ---------- start ----------

document.addEventListener('DOMContentLoaded', () => {
  window.addEventListener('hashchange', () => showView(currentView()));
  $('tables-refresh').addEventListener('click', loadTables);
  $('create-table').addEventListener('submit', createTable);
  $('query-index').addEventListener('change', updateKeyLabel);
  $('query-form').addEventListener('submit', (event) => {
    event.preventDefault();
    tableState.query = readQueryForm();
    runPage(0, [null]);
  });
  $('page-next').addEventListener('click', () => {
    if (!tableState.lastKey) return;
    const keys = tableState.startKeys.slice(0, tableState.page + 1);
    keys.push(tableState.lastKey);
    runPage(tableState.page + 1, keys);
  });
  $('page-prev').addEventListener('click', () => {
    if (tableState.page > 0) runPage(tableState.page - 1, tableState.startKeys);
  });
  $('item-new').addEventListener('click', () => openEditor(null));
  $('editor-save').addEventListener('click', saveItem);
  $('editor-cancel').addEventListener('click', () => { $('editor').hidden = true; });
  $('fault-kind').addEventListener('change', () => renderFaultFields(false));
  $('fault-form').addEventListener('submit', addFault);
  $('faults-clear-all').addEventListener('click', () => clearFaults(null));
  showView(currentView());
  poll();
  setInterval(poll, STATUS_POLL_MS);
});
