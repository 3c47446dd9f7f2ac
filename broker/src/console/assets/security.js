// Security: SCRAM users (console API) and ACLs (REST Proxy v3), when the
// broker has an authorizer; what the logged-in user may see and change is
// what their ACLs allow.
'use strict';

pages.security = async function () {
  if (!state.whoami.authorizer) {
    main().innerHTML = '<h1>Security</h1><p class="muted" id="no-authorizer">No authorizer is configured ' +
      '(authorizer.class.name): every principal may do everything, and there are no ACLs to manage.</p>';
  } else {
    main().innerHTML = '<h1>Security</h1>' +
      '<div class="card"><h2>Users (SCRAM)</h2><div id="users"></div><form class="inline" id="user-form" style="margin-top:10px">' +
      '<label>User <input id="user-name" required></label><label>Password <input id="user-password" type="password" required></label>' +
      '<label>Mechanism <select id="user-mechanism"><option>SCRAM-SHA-512</option><option>SCRAM-SHA-256</option></select></label>' +
      '<button type="submit">Create or set password</button></form></div>' +
      '<div class="card"><h2>ACLs</h2><div id="acls"></div><form class="inline" id="acl-form" style="margin-top:10px">' +
      '<label>Principal <input id="acl-principal" value="User:" required></label>' +
      '<label>Resource <select id="acl-resource-type"><option>TOPIC</option><option>GROUP</option><option>CLUSTER</option><option>TRANSACTIONAL_ID</option></select></label>' +
      '<label>Name <input id="acl-resource-name" value="*" required></label>' +
      '<label>Pattern <select id="acl-pattern"><option>LITERAL</option><option>PREFIXED</option></select></label>' +
      '<label>Operation <select id="acl-operation">' + ['ALL', 'READ', 'WRITE', 'CREATE', 'DELETE', 'ALTER', 'DESCRIBE', 'DESCRIBE_CONFIGS', 'ALTER_CONFIGS', 'IDEMPOTENT_WRITE']
        .map(o => '<option>' + o + '</option>').join('') + '</select></label>' +
      '<label>Permission <select id="acl-permission"><option>ALLOW</option><option>DENY</option></select></label>' +
      '<label>Host <input id="acl-host" value="*" style="width:100px"></label><button type="submit">Add ACL</button></form></div>';
    wireSecurity();
  }
};

async function wireSecurity() {
  const drawUsers = async () => {
    const r = await api('/console/api/users');
    $('#users').innerHTML = table(['User', 'Mechanisms', ''], r.users.map(u => '<tr><td>' + esc(u.user) + '</td><td>' +
      esc(u.mechanisms.map(m => m.mechanism + ' (' + m.iterations + ')').join(', ')) +
      '</td><td><button class="danger user-delete" data-user="' + esc(u.user) + '">Delete</button></td></tr>'), 'users-table');
    document.querySelectorAll('.user-delete').forEach(b => b.addEventListener('click', async () => {
      if (!confirm('Delete user ' + b.dataset.user + '?')) return;
      try { await api('/console/api/users/' + enc(b.dataset.user), { method: 'DELETE' }); await drawUsers(); } catch (e) { showError(e); }
    }));
  };
  const drawAcls = async () => {
    const r = await api(rest('/acls'));
    $('#acls').innerHTML = table(['Principal', 'Resource', 'Pattern', 'Operation', 'Permission', 'Host', ''], r.data.map((a, i) =>
      '<tr><td>' + esc(a.principal) + '</td><td>' + esc(a.resource_type + ':' + a.resource_name) + '</td><td>' + esc(a.pattern_type) +
      '</td><td>' + esc(a.operation) + '</td><td>' + esc(a.permission) + '</td><td>' + esc(a.host) +
      '</td><td><button class="danger acl-delete" data-i="' + i + '">Delete</button></td></tr>'), 'acls-table');
    document.querySelectorAll('.acl-delete').forEach(b => b.addEventListener('click', async () => {
      const a = r.data[Number(b.dataset.i)];
      const q = ['resource_type', 'resource_name', 'pattern_type', 'principal', 'host', 'operation', 'permission']
        .map(k => k + '=' + enc(a[k])).join('&');
      try { await api(rest('/acls?' + q), { method: 'DELETE' }); await drawAcls(); } catch (e) { showError(e); }
    }));
  };
  $('#user-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    try {
      await api('/console/api/users', { method: 'POST', body: {
        user: $('#user-name').value, password: $('#user-password').value, mechanism: $('#user-mechanism').value } });
      $('#user-name').value = '';
      $('#user-password').value = '';
      await drawUsers();
    } catch (e) { showError(e); }
  });
  $('#acl-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    try {
      await api(rest('/acls'), { method: 'POST', body: {
        resource_type: $('#acl-resource-type').value, resource_name: $('#acl-resource-name').value,
        pattern_type: $('#acl-pattern').value, principal: $('#acl-principal').value, host: $('#acl-host').value,
        operation: $('#acl-operation').value, permission: $('#acl-permission').value } });
      await drawAcls();
    } catch (e) { showError(e); }
  });
  await Promise.all([drawUsers().catch(showError), drawAcls().catch(showError)]);
}
