// Topics: the list with sizes (console API), create and delete (REST Proxy
// v3), and one topic's partitions and configs, which can be edited.
'use strict';

pages.topics = async function (parts) {
  if (parts.length && parts[0]) return topicPage(parts[0]);
  main().innerHTML =
    '<h1>Topics</h1>' +
    '<div class="card"><h2>Create a topic</h2><form class="inline" id="create-topic">' +
    '<label>Name <input id="new-topic-name" required pattern="[a-zA-Z0-9._-]+"></label>' +
    '<label>Partitions <input id="new-topic-partitions" type="number" min="1" value="1" style="width:90px"></label>' +
    '<label>Configs (name=value, comma separated) <input id="new-topic-configs" placeholder="cleanup.policy=compact" style="width:280px"></label>' +
    '<button type="submit" id="create-topic-submit">Create</button></form></div>' +
    '<div class="toolbar"><label><input type="checkbox" id="show-internal"> show internal topics</label>' +
    '<input id="topic-filter" placeholder="filter"></div>' +
    '<div class="card" id="topics"></div>';
  $('#create-topic').addEventListener('submit', async (event) => {
    event.preventDefault();
    const configs = $('#new-topic-configs').value.split(',').map(s => s.trim()).filter(Boolean).map(kv => {
      const i = kv.indexOf('=');
      return { name: kv.slice(0, i), value: kv.slice(i + 1) };
    });
    try {
      await api(rest('/topics'), { method: 'POST', body: {
        topic_name: $('#new-topic-name').value,
        partitions_count: Number($('#new-topic-partitions').value),
        configs,
      } });
      $('#new-topic-name').value = '';
      await draw();
    } catch (e) { showError(e); }
  });
  let all = [];
  const draw = async () => {
    all = await api('/console/api/topics');
    render();
  };
  const render = () => {
    const internal = $('#show-internal').checked;
    const filter = $('#topic-filter').value;
    const rows = all.filter(t => (internal || !t.internal) && t.name.includes(filter)).map(t => {
      const end = t.partitions.reduce((a, p) => a + p.high_watermark, 0);
      return '<tr data-topic="' + esc(t.name) + '"><td><a href="#/topics/' + enc(t.name) + '">' + esc(t.name) + '</a></td>' +
        '<td class="num">' + t.partitions.length + '</td><td class="num">' + num(t.records) + '</td>' +
        '<td class="num">' + num(end) + '</td><td class="num">' + bytes(t.local_bytes) + '</td>' +
        '<td class="num">' + bytes(t.tiered_bytes) + '</td>' +
        '<td><a href="#/messages/' + enc(t.name) + '">messages</a></td></tr>';
    });
    $('#topics').innerHTML = table(['Topic', '#Partitions', '#Records', '#End offsets (sum)', '#Local', '#Tiered', ''], rows, 'topics-table');
  };
  $('#show-internal').addEventListener('change', render);
  $('#topic-filter').addEventListener('input', render);
  await draw();
};

async function topicPage(name) {
  const [topics, configs] = await Promise.all([
    api('/console/api/topics'),
    api(rest('/topics/' + enc(name) + '/configs')),
  ]);
  const topic = topics.find(t => t.name === name);
  if (!topic) throw new Error('No topic ' + name + ' (or you may not describe it).');
  const partitions = topic.partitions.map(p => '<tr><td>' + p.partition + '</td><td class="num">' + num(p.log_start_offset) +
    '</td><td class="num">' + num(p.high_watermark) + '</td><td class="num">' + bytes(p.local_bytes) + '</td><td class="num">' +
    bytes(p.tiered_bytes) + '</td><td><a href="#/messages/' + enc(name) + '?partition=' + p.partition + '">browse</a></td></tr>');
  const configRows = configs.data.map(c => '<tr><td class="mono">' + esc(c.name) + '</td><td>' +
    (c.is_read_only ? '<span class="mono">' + esc(c.value) + '</span>' :
      '<input class="config-value mono" data-name="' + esc(c.name) + '" data-was="' + esc(c.value) + '" value="' + esc(c.value) + '" style="width:260px">') +
    '</td><td class="muted">' + esc(c.source || (c.is_default ? 'default' : '')) + '</td></tr>');
  main().innerHTML =
    '<h1>Topic <span class="mono" id="topic-name">' + esc(name) + '</span></h1>' +
    '<div class="toolbar"><a href="#/messages/' + enc(name) + '">Browse messages</a>' +
    '<span style="flex:1"></span><button class="danger" id="delete-topic">Delete topic</button></div>' +
    '<div class="card"><h2>Partitions</h2>' + table(['Partition', '#Log start', '#High watermark', '#Local', '#Tiered', ''], partitions, 'partitions') + '</div>' +
    '<div class="card"><h2>Configs</h2><p class="muted">Change values and save; only changed values are sent.</p>' +
    table(['Name', 'Value', 'Source'], configRows, 'configs') +
    '<div class="toolbar" style="margin-top:10px"><button id="save-configs">Save configs</button><span id="configs-saved" class="ok"></span></div></div>';
  $('#delete-topic').addEventListener('click', async () => {
    if (!confirm('Delete topic ' + name + ' and all its data?')) return;
    try {
      await api(rest('/topics/' + enc(name)), { method: 'DELETE' });
      location.hash = '#/topics';
    } catch (e) { showError(e); }
  });
  $('#save-configs').addEventListener('click', async () => {
    const data = [...document.querySelectorAll('.config-value')]
      .filter(i => i.value !== i.dataset.was)
      .map(i => ({ name: i.dataset.name, value: i.value, operation: 'SET' }));
    if (!data.length) { $('#configs-saved').textContent = 'nothing changed'; return; }
    try {
      await api(rest('/topics/' + enc(name) + '/configs:alter'), { method: 'POST', body: { data } });
      $('#configs-saved').textContent = 'saved ' + data.map(d => d.name).join(', ');
      data.forEach(d => { document.querySelector('.config-value[data-name="' + d.name + '"]').dataset.was = d.value; });
    } catch (e) { showError(e); }
  });
}
