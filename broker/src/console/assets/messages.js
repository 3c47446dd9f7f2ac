// Messages: browse a partition from an offset or a time, keys and values
// decoded through the registry (shown with their format), a live tail, and
// producing a record through the REST Proxy v3.
'use strict';

pages.messages = async function (parts, query) {
  const topics = await api('/console/api/topics');
  const name = parts[0] || (topics.find(t => !t.internal) || topics[0] || {}).name;
  if (!name) { main().innerHTML = '<h1>Messages</h1><p class="muted">No topics.</p>'; return; }
  const topic = topics.find(t => t.name === name);
  if (!topic) throw new Error('No topic ' + name + ' (or you may not describe it).');
  const options = topics.map(t => '<option' + (t.name === name ? ' selected' : '') + '>' + esc(t.name) + '</option>').join('');
  const partitionOptions = topic.partitions.map(p => '<option value="' + p.partition + '"' +
    (String(p.partition) === (query.get('partition') || '0') ? ' selected' : '') + '>' + p.partition + '</option>').join('');
  main().innerHTML =
    '<h1>Messages</h1>' +
    '<div class="card"><form class="inline" id="browse">' +
    '<label>Topic <select id="msg-topic">' + options + '</select></label>' +
    '<label>Partition <select id="msg-partition">' + partitionOptions + '</select></label>' +
    '<label>From <select id="msg-from"><option value="earliest">earliest</option><option value="offset">offset</option>' +
    '<option value="timestamp">time</option><option value="latest">latest (tail only)</option></select></label>' +
    '<label>Offset <input id="msg-offset" type="number" min="0" value="0" style="width:110px"></label>' +
    '<label>Time (UTC) <input id="msg-time" type="datetime-local" step="1"></label>' +
    '<label>Max <input id="msg-max" type="number" min="1" max="1000" value="50" style="width:80px"></label>' +
    '<button type="submit" id="msg-read">Read</button>' +
    '<label><span><input type="checkbox" id="msg-tail"> live tail</span></label></form></div>' +
    '<div class="card"><div class="toolbar"><span id="msg-status" class="muted"></span></div><div id="messages"></div></div>' +
    '<div class="card"><h2>Produce a record</h2><form id="produce" class="inline">' +
    '<label>Partition <select id="produce-partition"><option value="">any</option>' +
    topic.partitions.map(p => '<option>' + p.partition + '</option>').join('') + '</select></label>' +
    '<label>Key <input id="produce-key" style="width:160px"></label>' +
    '<label style="flex:1">Value (JSON or text) <textarea id="produce-value" rows="2"></textarea></label>' +
    '<label>Headers (name=value, comma separated) <input id="produce-headers" style="width:200px"></label>' +
    '<button type="submit" id="produce-submit">Produce</button><span id="produce-result" class="ok"></span></form></div>';
  $('#msg-topic').addEventListener('change', () => { location.hash = '#/messages/' + enc($('#msg-topic').value); });
  let shown = [];
  let next = null;
  const read = async (params, append) => {
    const partition = $('#msg-partition').value;
    const page = await api('/console/api/topics/' + enc(name) + '/partitions/' + partition + '/messages?' + params);
    shown = append ? shown.concat(page.records) : page.records;
    if (shown.length > 1000) shown = shown.slice(shown.length - 1000);
    next = page.next_offset;
    $('#msg-status').textContent = 'partition ' + partition + ' · high watermark ' + num(page.high_watermark) +
      ' · next offset ' + num(next) + ' · ' + shown.length + ' shown';
    $('#messages').innerHTML = table(['#Offset', 'Timestamp', 'Key', 'Value', 'Headers'], shown.map(recordRow), 'records');
  };
  const start = () => {
    const from = $('#msg-from').value;
    const max = 'max_records=' + Number($('#msg-max').value || 50);
    if (from === 'offset') return max + '&offset=' + Number($('#msg-offset').value || 0);
    if (from === 'timestamp') return max + '&timestamp=' + Date.parse(($('#msg-time').value || '1970-01-01T00:00:00') + 'Z');
    return max + '&offset=' + from;
  };
  $('#browse').addEventListener('submit', async (event) => {
    event.preventDefault();
    try { await read(start(), false); } catch (e) { showError(e); }
  });
  let tail = null;
  $('#msg-tail').addEventListener('change', () => {
    if (tail) { clearInterval(tail); state.timers = state.timers.filter(t => t !== tail); tail = null; }
    if (!$('#msg-tail').checked) return;
    const poll = async () => {
      try { await read('max_records=200&offset=' + (next === null ? 'latest' : next), true); } catch (e) { showError(e); }
    };
    poll();
    tail = setInterval(poll, 1000);
    state.timers.push(tail);
  });
  $('#produce').addEventListener('submit', async (event) => {
    event.preventDefault();
    const text = $('#produce-value').value;
    let value;
    try { value = { type: 'JSON', data: JSON.parse(text) }; } catch (e) { value = { type: 'STRING', data: text }; }
    const body = { value };
    const key = $('#produce-key').value;
    if (key) body.key = { type: 'STRING', data: key };
    if ($('#produce-partition').value !== '') body.partition_id = Number($('#produce-partition').value);
    const headers = $('#produce-headers').value.split(',').map(s => s.trim()).filter(Boolean).map(kv => {
      const i = kv.indexOf('=');
      return { name: i < 0 ? kv : kv.slice(0, i), value: btoa(unescape(encodeURIComponent(i < 0 ? '' : kv.slice(i + 1)))) };
    });
    if (headers.length) body.headers = headers;
    try {
      const r = await api(rest('/topics/' + enc(name) + '/records'), { method: 'POST', body });
      if (r && r.error_code && r.error_code >= 400) throw new Error(r.message);
      $('#produce-result').textContent = 'written at partition ' + r.partition_id + ', offset ' + r.offset;
    } catch (e) { showError(e); }
  });
  await read(start(), false);
};

function recordRow(r) {
  const headers = (r.headers || []).map(h => esc(h.name) + '=' + esc(h.text !== undefined ? h.text : (h.hex !== undefined ? '0x ' + h.hex : 'null'))).join('<br>');
  return '<tr class="record" data-offset="' + r.offset + '"><td class="num">' + r.offset + '</td><td class="mono">' + esc(time(r.timestamp)) +
    '</td><td>' + data(r.key) + '</td><td class="value">' + data(r.value) + '</td><td class="mono">' + headers + '</td></tr>';
}

// A key or value as the API shows it: decoded formats as JSON with their
// format and schema id, text as text, other bytes as hex.
function data(d) {
  if (d === null || d === undefined) return '<span class="muted">null</span>';
  const tag = '<span class="pill format">' + esc(d.type) + (d.schema_id !== undefined ? ' #' + d.schema_id : '') + '</span> ';
  if (d.type === 'BINARY') return tag + '<pre>' + esc(d.hex) + '</pre>';
  if (d.type === 'STRING') return tag + '<pre>' + esc(d.data) + '</pre>';
  return tag + '<pre class="json">' + esc(JSON.stringify(d.data, null, 1)) + '</pre>';
}
