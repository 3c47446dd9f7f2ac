// Schemas (the Schema Registry's own routes): subjects, versions, the line
// difference between two versions, the compatibility level, and checking a
// new schema against a subject before registering it.
'use strict';

pages.schemas = async function (parts) {
  if (parts.length && parts[0]) return subjectPage(parts[0]);
  const [subjects, config] = await Promise.all([api(registry('/subjects')), api(registry('/config'))]);
  const rows = subjects.map(s => '<tr><td><a href="#/schemas/' + enc(s) + '">' + esc(s) + '</a></td></tr>');
  main().innerHTML = '<h1>Schemas</h1><p>Global compatibility level: <b id="global-compat">' +
    esc(config.compatibilityLevel || config.compatibility) + '</b></p>' +
    '<div class="card"><h2>Register a schema under a new subject</h2>' + registerForm('') + '</div>' +
    '<div class="card">' + table(['Subject'], rows, 'subjects') + '</div>';
  wireRegister(() => $('#schema-subject').value);
};

function registerForm(subject) {
  return '<form id="schema-form">' +
    (subject ? '' : '<div class="toolbar"><label>Subject <input id="schema-subject" required></label></div>') +
    '<div class="toolbar"><label>Type <select id="schema-type"><option>AVRO</option><option>JSON</option><option>PROTOBUF</option></select></label></div>' +
    '<textarea id="schema-text" rows="8" placeholder=\'{"type": "record", "name": "Order", "fields": [...]}\'></textarea>' +
    '<div class="toolbar" style="margin-top:8px">' + (subject ? '<button type="button" class="secondary" id="schema-check">Check compatibility</button>' : '') +
    '<button type="submit" id="schema-register">Register</button><span id="schema-result"></span></div></form>';
}

function wireRegister(subjectOf) {
  const body = () => {
    const b = { schema: $('#schema-text').value };
    if ($('#schema-type').value !== 'AVRO') b.schemaType = $('#schema-type').value;
    return b;
  };
  const check = $('#schema-check');
  if (check) check.addEventListener('click', async () => {
    try {
      const r = await api(registry('/compatibility/subjects/' + enc(subjectOf()) + '/versions/latest?verbose=true'), { method: 'POST', body: body() });
      $('#schema-result').innerHTML = r.is_compatible ? '<span class="ok" id="compat-ok">compatible</span>' :
        '<span class="bad" id="compat-bad">not compatible: ' + esc((r.messages || []).join('; ')) + '</span>';
    } catch (e) { showError(e); }
  });
  $('#schema-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    try {
      const r = await api(registry('/subjects/' + enc(subjectOf()) + '/versions'), { method: 'POST', body: body() });
      $('#schema-result').innerHTML = '<span class="ok">registered, id ' + r.id + '</span>';
      setTimeout(() => { location.hash = '#/schemas/' + enc(subjectOf()); route(); }, 300);
    } catch (e) { showError(e); }
  });
}

async function subjectPage(subject) {
  const versions = await api(registry('/subjects/' + enc(subject) + '/versions'));
  const config = await api(registry('/config/' + enc(subject) + '?defaultToGlobal=true'));
  const level = config.compatibilityLevel || config.compatibility;
  const levels = ['BACKWARD', 'BACKWARD_TRANSITIVE', 'FORWARD', 'FORWARD_TRANSITIVE', 'FULL', 'FULL_TRANSITIVE', 'NONE'];
  const options = (selected) => versions.map(v => '<option' + (v === selected ? ' selected' : '') + '>' + v + '</option>').join('');
  const last = versions[versions.length - 1];
  main().innerHTML = '<h1>Subject <span class="mono" id="subject-name">' + esc(subject) + '</span></h1>' +
    '<div class="card"><form class="inline" id="compat-form"><label>Compatibility <select id="compat-level">' +
    levels.map(l => '<option' + (l === level ? ' selected' : '') + '>' + l + '</option>').join('') +
    '</select></label><button type="submit">Set</button><span id="compat-saved" class="ok"></span></form></div>' +
    '<div class="card"><h2>Versions</h2><div class="toolbar"><label>Show <select id="version-show">' + options(last) + '</select></label>' +
    '<span class="muted">Diff</span><select id="diff-a">' + options(versions[Math.max(0, versions.length - 2)]) + '</select>' +
    '<span>→</span><select id="diff-b">' + options(last) + '</select><button class="secondary" id="diff-run">Diff</button></div>' +
    '<div id="version"></div></div>' +
    '<div class="card"><h2>Check or register a new version</h2>' + registerForm(subject) + '</div>';
  const fetchVersion = (v) => api(registry('/subjects/' + enc(subject) + '/versions/' + v));
  const pretty = (s) => { try { return JSON.stringify(JSON.parse(s.schema), null, 2); } catch (e) { return s.schema; } };
  const show = async () => {
    const s = await fetchVersion($('#version-show').value);
    $('#version').innerHTML = '<p>Version ' + s.version + ' · id ' + s.id + ' · ' + esc(s.schemaType || 'AVRO') + '</p><pre class="card">' + esc(pretty(s)) + '</pre>';
    $('#schema-type').value = s.schemaType || 'AVRO';
    if (!$('#schema-text').value) $('#schema-text').value = pretty(s);
  };
  $('#version-show').addEventListener('change', () => show().catch(showError));
  $('#diff-run').addEventListener('click', async () => {
    try {
      const [a, b] = await Promise.all([fetchVersion($('#diff-a').value), fetchVersion($('#diff-b').value)]);
      $('#version').innerHTML = '<p>Version ' + a.version + ' → ' + b.version + '</p><div class="diff card" id="diff">' +
        lineDiff(pretty(a).split('\n'), pretty(b).split('\n')).map(([op, line]) =>
          '<pre class="' + (op === '+' ? 'add' : op === '-' ? 'del' : '') + '">' + op + ' ' + esc(line) + '</pre>').join('') + '</div>';
    } catch (e) { showError(e); }
  });
  $('#compat-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    try {
      await api(registry('/config/' + enc(subject)), { method: 'PUT', body: { compatibility: $('#compat-level').value } });
      $('#compat-saved').textContent = 'saved';
    } catch (e) { showError(e); }
  });
  wireRegister(() => subject);
  await show();
}

// A line diff by longest common subsequence: [op, line] with op ' ', '+' or '-'.
function lineDiff(a, b) {
  const n = a.length, m = b.length;
  const lcs = Array.from({ length: n + 1 }, () => new Array(m + 1).fill(0));
  for (let i = n - 1; i >= 0; i--) for (let j = m - 1; j >= 0; j--)
    lcs[i][j] = a[i] === b[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
  const out = [];
  let i = 0, j = 0;
  while (i < n && j < m) {
    if (a[i] === b[j]) { out.push([' ', a[i]]); i++; j++; }
    else if (lcs[i + 1][j] >= lcs[i][j + 1]) out.push(['-', a[i++]]);
    else out.push(['+', b[j++]]);
  }
  while (i < n) out.push(['-', a[i++]]);
  while (j < m) out.push(['+', b[j++]]);
  return out;
}
