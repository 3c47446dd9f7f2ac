// Consumer groups: the list, and one group's state, members, assignments
// and lag per partition (REST Proxy v3), polled every 2 s with the lag
// drawn over time; offsets of an empty group can be reset (console API).
'use strict';

pages.groups = async function (parts, query, route) {
  if (parts.length && parts[0]) return groupPage(parts[0], route);
  main().innerHTML = '<h1>Consumer groups</h1><div class="card" id="groups"></div>';
  every(2000, async () => {
    const groups = await api(rest('/consumer-groups'));
    const rows = groups.data.map(g => '<tr data-group="' + esc(g.consumer_group_id) + '"><td><a href="#/groups/' +
      enc(g.consumer_group_id) + '">' + esc(g.consumer_group_id) + '</a></td><td><span class="pill ' + esc(String(g.state).toLowerCase()) + '">' +
      esc(g.state) + '</span></td><td>' + esc(g.type || '') + '</td><td>' + esc(g.partition_assignor || '') + '</td></tr>');
    $('#groups').innerHTML = table(['Group', 'State', 'Type', 'Assignor'], rows, 'groups-table');
  }, route);
};

async function groupPage(id, route) {
  const topics = await api('/console/api/topics');
  const history = {};  // "topic/partition" -> lags over time
  const totals = [];
  main().innerHTML =
    '<h1>Group <span class="mono" id="group-id">' + esc(id) + '</span> <span class="pill" id="group-state"></span></h1>' +
    '<div class="grid2"><div class="card"><h2>Total lag</h2><div id="total-lag-chart"></div>' +
    '<p>Total lag <b id="total-lag">–</b></p></div>' +
    '<div class="card"><h2>Members</h2><div id="members"></div></div></div>' +
    '<div class="card"><h2>Lag per partition</h2><div id="lags"></div></div>' +
    '<div class="card"><h2>Reset offsets</h2><p class="muted">Only a group without members (Empty) can be reset.</p>' +
    '<form class="inline" id="reset"><label>Topic <select id="reset-topic">' +
    topics.filter(t => !t.internal).map(t => '<option>' + esc(t.name) + '</option>').join('') + '</select></label>' +
    '<label>To <select id="reset-to"><option value="earliest">earliest</option><option value="latest">latest</option>' +
    '<option value="timestamp">a time (UTC)</option><option value="offset">an offset</option></select></label>' +
    '<label>Offset <input id="reset-offset" type="number" min="0" style="width:110px"></label>' +
    '<label>Time (UTC) <input id="reset-time" type="datetime-local" step="1"></label>' +
    '<button type="submit" id="reset-submit">Reset offsets</button></form><div id="reset-result"></div></div>';
  $('#reset-topic').addEventListener('change', () => { $('#reset-topic').dataset.picked = 'yes'; });
  $('#reset').addEventListener('submit', async (event) => {
    event.preventDefault();
    const to = $('#reset-to').value;
    const body = { topic: $('#reset-topic').value, to };
    if (to === 'offset') body.value = Number($('#reset-offset').value || 0);
    if (to === 'timestamp') body.value = Date.parse(($('#reset-time').value || '1970-01-01T00:00:00') + 'Z');
    try {
      const r = await api('/console/api/groups/' + enc(id) + '/reset', { method: 'POST', body });
      $('#reset-result').innerHTML = '<p class="ok" id="reset-done">Reset ' + esc(r.topic) + ': ' +
        r.offsets.map(o => 'partition ' + o.partition + ' → ' + o.offset).join(', ') + '</p>';
    } catch (e) { showError(e); }
  });
  every(2000, async () => {
    const group = await api(rest('/consumer-groups/' + enc(id)));
    $('#group-state').textContent = group.state;
    $('#group-state').className = 'pill ' + String(group.state).toLowerCase();
    const members = await api(rest('/consumer-groups/' + enc(id) + '/consumers'));
    const memberRows = await Promise.all(members.data.map(async m => {
      let assigned = [];
      try {
        const a = await api(rest('/consumer-groups/' + enc(id) + '/consumers/' + enc(m.consumer_id) + '/assignments'));
        assigned = a.data.map(x => x.topic_name + '-' + x.partition_id);
      } catch (e) { /* the member left between the two calls */ }
      return '<tr><td class="mono">' + esc(m.consumer_id) + '</td><td>' + esc(m.client_id) + '</td><td class="mono">' +
        esc(assigned.join(', ')) + '</td></tr>';
    }));
    $('#members').innerHTML = table(['Member', 'Client id', 'Assigned'], memberRows, 'members-table');
    let lags = [];
    try {
      lags = (await api(rest('/consumer-groups/' + enc(id) + '/lags'))).data;
    } catch (e) {
      if (!(e instanceof ApiError && e.status === 404)) throw e;  // no committed offsets yet
    }
    let total = 0;
    const rows = lags.map(l => {
      const key = l.topic_name + '/' + l.partition_id;
      const h = history[key] = history[key] || [];
      h.push(l.lag);
      if (h.length > 90) h.shift();
      total += l.lag;
      return '<tr class="lag" data-partition="' + esc(key) + '"><td>' + esc(l.topic_name) + '</td><td class="num">' + l.partition_id +
        '</td><td class="num">' + num(l.current_offset) + '</td><td class="num">' + num(l.log_end_offset) +
        '</td><td class="num lag-value">' + num(l.lag) + '</td><td>' + sparkline(h) + '</td><td class="mono">' +
        esc(l.consumer_id || '') + '</td></tr>';
    });
    // The reset form starts on a topic the group has offsets in, until the
    // user picks another.
    const picker = $('#reset-topic');
    if (lags.length && !picker.dataset.picked) picker.value = lags[0].topic_name;
    totals.push(total);
    if (totals.length > 90) totals.shift();
    $('#total-lag').textContent = num(total);
    $('#total-lag-chart').innerHTML = sparkline(totals, 600, 120, 'chart');
    $('#lags').innerHTML = table(['Topic', '#Partition', '#Committed', '#End offset', '#Lag', 'Lag over time', 'Member'], rows, 'lags-table');
  }, route);
}
