// Heshen console: a small single-page app over /console/api. No framework,
// nothing fetched from outside. Every permission is also enforced by the
// server; hiding buttons here is only a convenience.
(function () {
'use strict';
var S = { me: null, csrf: '', lang: localStorage.getItem('heshen.lang') || 'zh' };
var app = document.getElementById('app');

function t(k) { var d = window.I18N[S.lang] || window.I18N.zh; return d[k] || window.I18N.zh[k] || k; }
function h(tag, attrs) {
  var el = document.createElement(tag);
  if (attrs) for (var k in attrs) {
    var v = attrs[k];
    if (v == null || v === false) continue;
    if (k.slice(0, 2) === 'on') el.addEventListener(k.slice(2), v);
    else if (k === 'html') el.innerHTML = v; // only for SVG made by the server
    else if (k === 'value') el.value = v;
    else if (k === 'checked') el.checked = !!v;
    else el.setAttribute(k, v === true ? '' : v);
  }
  for (var i = 2; i < arguments.length; i++) add(el, arguments[i]);
  return el;
}
function add(el, c) {
  if (c == null || c === false) return;
  if (Array.isArray(c)) { c.forEach(function (x) { add(el, x); }); return; }
  el.appendChild(typeof c === 'object' ? c : document.createTextNode(String(c)));
}
function can(act) { return S.me && S.me.actions && S.me.actions[act]; }
function fmtTime(s) { if (!s || s.indexOf('0001-') === 0) return ''; var d = new Date(s); return isNaN(d) ? s : d.toLocaleString(S.lang === 'en' ? 'en-GB' : 'zh-CN', { hour12: false }); }
function pct(x) { return (Math.round(x * 10) / 10) + '%'; }
function errText(e) { return e && e.error ? (S.lang === 'en' ? e.error.message_en || e.error.message : e.error.message || e.error.message_en) + ' (' + e.error.code + ')' : String(e); }

function api(method, path, body, raw) {
  var opt = { method: method, headers: {}, credentials: 'same-origin' };
  if (method !== 'GET') opt.headers['X-CSRF-Token'] = S.csrf;
  if (body instanceof FormData) opt.body = body;
  else if (body !== undefined) { opt.headers['Content-Type'] = 'application/json'; opt.body = JSON.stringify(body); }
  return fetch('/console/api' + path, opt).then(function (r) {
    if (raw && r.ok) return r.text();
    return r.json().catch(function () { return {}; }).then(function (j) {
      if (!r.ok) {
        if (r.status === 401 && path !== '/login' && path !== '/password') { S.me = null; render(); }
        throw j;
      }
      return j;
    });
  });
}
function qs(o) { var p = []; for (var k in o) if (o[k] !== '' && o[k] != null) p.push(encodeURIComponent(k) + '=' + encodeURIComponent(o[k])); return p.length ? '?' + p.join('&') : ''; }
function formObj(form) { var o = {}; new FormData(form).forEach(function (v, k) { o[k] = v; }); return o; }
function status(el, p, okText) {
  el.textContent = ''; el.className = '';
  return p.then(function (r) { if (okText) { el.className = 'msg'; el.textContent = okText; } return r; },
    function (e) { el.className = 'err'; el.textContent = errText(e); throw e; });
}
function field(label, input) { return h('label', null, label, input); }
function sel(name, opts, value) {
  return h('select', { name: name }, opts.map(function (o) { return h('option', { value: o[0], selected: String(o[0]) === String(value) }, o[1]); }));
}
function table(cols, rows) {
  return h('div', { class: 'tablewrap' }, h('table', null, h('thead', null, h('tr', null, cols.map(function (c) { return h('th', null, c); }))),
    h('tbody', null, rows.length ? rows : h('tr', null, h('td', { colspan: cols.length, class: 'muted' }, t('none'))))));
}
function pager(total, offset, limit, go) {
  return h('div', { class: 'pager' }, h('button', { disabled: offset <= 0, onclick: function () { go(Math.max(0, offset - limit)); } }, t('prev')),
    h('span', { class: 'muted' }, t('total') + ' ' + total + ' · ' + (total ? offset + 1 : 0) + '–' + Math.min(total, offset + limit)),
    h('button', { disabled: offset + limit >= total, onclick: function () { go(offset + limit); } }, t('next')));
}
function tag(ok, yes, no) { return h('span', { class: 'tag ' + (ok ? 'ok' : 'bad') }, ok ? yes : no); }

// ---- shell ----
var PAGES = [
  ['dashboard', 'DescribeDashboard'], ['counter', 'CounterVerification'], ['records', 'DescribeRecords'], ['flows', 'DescribeRules'],
  ['gallery', 'DescribeGallery'], ['usage', 'DescribeUsage'], ['analytics', 'DescribeAnalytics'], ['alerts', 'DescribeAlerts'],
  ['logs', 'DescribeOpLogs'], ['credentials', 'DescribeCredentials'], ['keys', 'DescribeEncryptionKeys'], ['users', 'DescribeUsers'],
  ['eligibility', 'CheckEligibility'], ['settings', 'DescribeSettings'], ['account', 'DescribeOwnAccount']];

function render() {
  document.documentElement.lang = S.lang === 'en' ? 'en' : 'zh-CN';
  document.title = t('title') + ' · Heshen';
  app.textContent = '';
  if (!S.me) return loginPage();
  var page = (location.hash.replace(/^#\//, '').split('?')[0]) || 'dashboard';
  if (S.me.must_change) page = 'account';
  var nav = h('nav', { class: 'side' }, h('div', { class: 'brand' }, '核身 Heshen'),
    PAGES.filter(function (p) { return can(p[1]); }).map(function (p) {
      return h('a', { href: '#/' + p[0], class: p[0] === page ? 'active' : null, 'data-page': p[0] }, t(p[0]));
    }));
  var main = h('main', null);
  var top = h('header', { class: 'top' }, h('h1', null, t(page)), h('div', { class: 'who' },
    h('span', null, S.me.user + ' · ' + S.me.role),
    h('button', { class: 'lang', onclick: function () { S.lang = S.lang === 'en' ? 'zh' : 'en'; localStorage.setItem('heshen.lang', S.lang); render(); } }, t('lang')),
    h('button', { id: 'signout', onclick: function () { api('POST', '/logout', {}).finally(function () { S.me = null; boot(); }); } }, t('signout'))));
  main.appendChild(top);
  var body = h('div', { id: 'page' });
  main.appendChild(body);
  app.appendChild(h('div', { class: 'layout' }, nav, main));
  var fn = VIEWS[page] || VIEWS.dashboard;
  try { fn(body); } catch (e) { body.appendChild(h('p', { class: 'err' }, String(e))); }
  document.body.setAttribute('data-ready', page);
}
window.addEventListener('hashchange', function () { if (S.me) render(); });

function loginPage() {
  var msg = h('p', { id: 'login-error' });
  var form = h('form', { class: 'login', id: 'login', onsubmit: function (ev) {
    ev.preventDefault();
    var o = formObj(form);
    status(msg, api('POST', '/login', { name: o.name, password: o.password })).then(function (me) { S.me = me; S.csrf = me.csrf; render(); }, function () {});
  } }, h('h1', null, t('title')),
    field(t('user'), h('input', { name: 'name', autocomplete: 'username', required: true })),
    field(t('password'), h('input', { name: 'password', type: 'password', autocomplete: 'current-password', required: true })),
    msg, h('div', { class: 'row' }, h('button', { class: 'primary', type: 'submit' }, t('signin')),
      h('button', { type: 'button', class: 'lang', onclick: function () { S.lang = S.lang === 'en' ? 'zh' : 'en'; localStorage.setItem('heshen.lang', S.lang); render(); } }, t('lang'))));
  app.appendChild(form);
  document.body.setAttribute('data-ready', 'login');
}

function boot() {
  fetch('/console/api/session', { credentials: 'same-origin' }).then(function (r) { return r.json(); }).then(function (j) {
    S.csrf = j.csrf; S.me = j.signed_in ? j : null; render();
  });
}

// ---- statistics helpers ----
function rangeForm(onApply, extra) {
  var form = h('form', { class: 'filters', onsubmit: function (ev) { ev.preventDefault(); onApply(formObj(form)); } },
    field(t('time'), sel('range', [['today', t('today')], ['yesterday', t('yesterday')], ['7d', t('d7')], ['30d', t('d30')], ['custom', t('custom')]], '7d')),
    field(t('from'), h('input', { type: 'date', name: 'from' })), field(t('to'), h('input', { type: 'date', name: 'to' })),
    extra || null, h('button', { class: 'primary', type: 'submit' }, t('query')));
  return form;
}
function svgBox(id) { return h('div', { id: id, class: 'chartbox' }); }
function loadSVG(box, path) { return api('GET', path, undefined, true).then(function (s) { box.innerHTML = s; }, function (e) { box.textContent = errText(e); }); }

var VIEWS = {};

VIEWS.dashboard = function (el) {
  api('GET', '/dashboard' + qs({ lang: S.lang })).then(function (d) {
    el.appendChild(h('div', { class: 'kpis' },
      kpi(t('today') + ' · ' + t('completed'), d.today.completed, 'kpi-today'), kpi(t('today') + ' · ' + t('pass_rate'), pct(d.today.pass_rate)),
      kpi(t('yesterday') + ' · ' + t('completed'), d.yesterday.completed), kpi(t('pending_reviews'), d.pending_reviews, 'kpi-pending')));
    el.appendChild(h('div', { class: 'card' }, h('h2', null, t('d7') + ' · ' + t('calls')), h('div', { html: d.chart })));
    el.appendChild(h('div', { class: 'card' }, h('h2', null, t('recent_alerts')), table([t('fired_at'), t('rules'), t('value')],
      d.alerts.map(function (a) { return h('tr', null, h('td', null, fmtTime(a.at)), h('td', null, S.lang === 'en' ? a.message_en : a.message), h('td', null, a.value)); }))));
    if (d.scope === 'own') el.appendChild(h('p', { class: 'muted' }, t('own_scope')));
  }, function (e) { el.appendChild(h('p', { class: 'err' }, errText(e))); });
};
function kpi(l, v, id) { return h('div', { class: 'kpi', id: id }, h('div', { class: 'v' }, v), h('div', { class: 'l' }, l)); }

VIEWS.usage = function (el) {
  var box = svgBox('usage-chart'), tbl = h('div'), dl = h('a', { class: 'button', id: 'usage-csv' }, t('download_csv'));
  var byCtl = sel('by', [['action', t('action')], ['app', t('app')], ['channel', t('channel')]], 'action');
  function load(o) {
    o.lang = S.lang;
    loadSVG(box, '/usage.svg' + qs(o));
    dl.setAttribute('href', '/console/api/usage.csv' + qs(o));
    api('GET', '/usage' + qs(o)).then(function (u) {
      tbl.textContent = '';
      tbl.appendChild(h('p', { id: 'usage-total' }, t('total') + ' ' + u.table.total + (u.scope === 'own' ? ' · ' + t('own_scope') : '')));
      tbl.appendChild(table([t('time'), t('app'), t('action'), t('channel'), t('calls'), t('passed')], u.rows.map(function (r) {
        return h('tr', null, h('td', null, r.day), h('td', null, r.app_id), h('td', null, r.action), h('td', null, r.channel), h('td', null, r.calls), h('td', null, r.passed));
      })));
    }, function (e) { tbl.textContent = errText(e); });
  }
  el.appendChild(h('div', { class: 'card' }, rangeForm(load, field(t('by'), byCtl)), box, dl));
  el.appendChild(h('div', { class: 'card' }, tbl));
  load({ range: '7d', by: 'action' });
};

VIEWS.analytics = function (el) {
  var counts = svgBox('an-count'), rate = svgBox('an-rate'), info = h('div');
  var chCtl = field(t('channel'), sel('channel', [['', t('all')], ['api', 'API'], ['h5', 'H5'], ['counter', t('counter')]], ''));
  function load(o) {
    o.lang = S.lang;
    loadSVG(counts, '/analytics.svg' + qs(o));
    o.metric = 'rate'; loadSVG(rate, '/analytics.svg' + qs(o)); delete o.metric;
    api('GET', '/analytics' + qs(o)).then(function (r) {
      var a = r.analytics; info.textContent = '';
      info.appendChild(h('div', { class: 'kpis' }, kpi(t('completed'), a.completed), kpi(t('passed'), a.passed), kpi(t('pass_rate'), pct(a.pass_rate))));
      info.appendChild(h('h2', null, t('channel')));
      info.appendChild(table([t('channel'), t('completed'), t('passed'), t('pass_rate')], a.by_channel.map(function (c) {
        return h('tr', null, h('td', null, c.key), h('td', null, c.completed), h('td', null, c.passed), h('td', null, pct(c.pass_rate)));
      })));
      info.appendChild(h('h2', null, t('reason')));
      info.appendChild(table([t('channel'), t('code'), t('total')], a.reasons.map(function (x) {
        return h('tr', null, h('td', null, x.channel), h('td', null, x.code), h('td', null, x.count));
      })));
    }, function (e) { info.textContent = errText(e); });
  }
  el.appendChild(h('div', { class: 'card' }, rangeForm(load, chCtl), h('div', { class: 'row' }, h('div', { class: 'card' }, counts), h('div', { class: 'card' }, rate))));
  el.appendChild(h('div', { class: 'card' }, info));
  load({ range: '7d' });
};

// ---- records and review ----
VIEWS.records = function (el) {
  var list = h('div'), detail = h('div', { id: 'record-detail' }), offset = 0, filt = {};
  var form = h('form', { class: 'filters', onsubmit: function (ev) { ev.preventDefault(); filt = formObj(form); offset = 0; load(); } },
    field(t('from'), h('input', { type: 'date', name: 'from' })), field(t('to'), h('input', { type: 'date', name: 'to' })),
    field(t('app'), h('input', { name: 'app_id', size: 12 })), field(t('rule_id'), h('input', { name: 'rule_id', size: 6 })),
    field(t('result'), h('input', { name: 'result', size: 10 })), field(t('code'), h('input', { name: 'code', size: 6 })),
    field(t('status'), sel('status', [['', t('all')], ['passed', t('passed')], ['failed', t('failed')], ['pending', t('pending')], ['reviewed', t('reviewed')]], '')),
    h('button', { class: 'primary', type: 'submit' }, t('query')));
  function load() {
    var q = Object.assign({}, filt, { offset: offset, limit: 20 });
    api('GET', '/records' + qs(q)).then(function (r) {
      list.textContent = '';
      list.appendChild(table([t('time'), t('app'), t('action'), t('channel'), t('name'), t('id_number'), t('result'), t('sim'), t('review'), ''],
        r.records.map(function (x) {
          return h('tr', null, h('td', null, fmtTime(x.created_at)), h('td', null, x.app_id), h('td', null, x.action), h('td', null, x.channel),
            h('td', null, x.name), h('td', null, x.id_number), h('td', null, tag(x.passed, x.result || 'OK', x.result || x.err_code)), h('td', null, x.sim.toFixed(1)),
            h('td', null, x.review ? tag(x.review.approved, t('approve'), t('reject')) : (x.review_requested || !x.passed ? h('span', { class: 'tag warn' }, t('pending')) : '')),
            h('td', null, h('button', { type: 'button', class: 'link open-record', onclick: function () { show(x.id); } }, t('detail'))));
        })));
      list.appendChild(pager(r.total, offset, 20, function (o) { offset = o; load(); }));
    }, function (e) { list.textContent = errText(e); });
  }
  function show(id) {
    api('GET', '/records/' + encodeURIComponent(id)).then(function (d) {
      var r = d.record; detail.textContent = '';
      var card = h('div', { class: 'card' }, h('h2', null, t('detail') + ' ' + r.id),
        table([t('time'), t('app'), t('rule_id'), t('action'), t('name'), t('id_number'), t('result'), t('code'), t('sim'), t('live')],
          [h('tr', null, [fmtTime(r.created_at), r.app_id, r.rule_id, r.action, r.name, r.id_number, r.result, r.err_code, r.sim, r.live_status].map(function (v) { return h('td', null, v); }))]),
        h('h2', null, t('steps')), table(['', 'ms'], (r.stages || []).map(function (s) { return h('tr', null, h('td', null, s.name), h('td', null, s.ms)); })),
        d.media.map(function (m) { return m.mime.indexOf('image/') === 0 ? h('p', null, t('best_frame'), h('br'), h('img', { src: '/console/api/records/' + encodeURIComponent(r.id) + '/media/' + encodeURIComponent(m.id), class: 'frame', alt: m.kind })) : null; }));
      if (r.review) card.appendChild(h('p', { id: 'review-done' }, tag(r.review.approved, t('approve'), t('reject')), ' ', r.review.reason, ' — ', t('reviewed_by'), ' ', r.review.by, ' · ', fmtTime(r.review.at)));
      else if (can('ConsoleExecuteManualAudit')) {
        var msg = h('p');
        var rf = h('form', { id: 'review-form', onsubmit: function (ev) { ev.preventDefault(); } },
          field(t('reason'), h('textarea', { name: 'reason', required: true, maxlength: 500 })),
          h('div', { class: 'row' }, ['approve', 'reject'].map(function (k) {
            return h('button', { type: 'button', id: 'review-' + k, class: k === 'approve' ? 'primary' : 'danger', onclick: function () {
              status(msg, api('POST', '/records/' + encodeURIComponent(r.id) + '/review', { approved: k === 'approve', reason: formObj(rf).reason })).then(function () { show(r.id); load(); }, function () {});
            } }, t(k));
          })), msg);
        card.appendChild(h('h2', null, t('review')));
        card.appendChild(rf);
      }
      detail.appendChild(card);
      detail.scrollIntoView();
    }, function (e) { detail.textContent = errText(e); });
  }
  el.appendChild(h('div', { class: 'card' }, form, list));
  el.appendChild(detail);
  load();
};

// ---- flows ----
VIEWS.flows = function (el) {
  var apps = [], list = h('div'), editor = h('div', { id: 'flow-editor' });
  function modes() { return [[3, t('silent')], [2, t('action_mode')], [4, t('reflection')]]; }
  function srcs() { return [['gallery', t('gallery_src')], ['photo', t('photo_src')], ['none', t('none_src')]]; }
  function load() {
    Promise.all([api('GET', '/apps'), api('GET', '/rules')]).then(function (r) {
      apps = r[0].apps; list.textContent = '';
      list.appendChild(table([t('rule_id'), t('name'), t('app'), t('liveness_mode'), t('compare_source'), t('sim_threshold'), t('status'), t('created_by'), ''],
        r[1].rules.map(function (x) {
          return h('tr', { 'data-rule': x.rule_id }, h('td', null, x.rule_id), h('td', null, x.name), h('td', null, x.app_id),
            h('td', null, (modes().filter(function (m) { return m[0] === x.liveness_mode; })[0] || [0, x.liveness_mode])[1]),
            h('td', null, x.compare_source), h('td', null, x.sim_threshold), h('td', null, x.disabled ? h('span', { class: 'tag bad' }, t('disabled')) : h('span', { class: 'tag ok' }, t('enabled'))),
            h('td', null, x.created_by), h('td', null, can('ModifyRule') ? h('button', { onclick: function () { edit(x); } }, t('edit')) : null,
              ' ', h('button', { onclick: function () { verdict(x.rule_id); } }, t('verdict'))));
        })));
      if (can('CreateRule')) list.appendChild(h('p', null, h('button', { id: 'new-flow', class: 'primary', onclick: function () { edit(null); } }, t('new_flow'))));
      if (can('CreateApp')) list.appendChild(appForm());
    }, function (e) { list.textContent = errText(e); });
  }
  function appForm() {
    var msg = h('p');
    var f = h('form', { class: 'filters', id: 'app-form', onsubmit: function (ev) {
      ev.preventDefault(); var o = formObj(f);
      status(msg, api('POST', '/apps', { name: o.name, entity: { name: o.entity_name, type: o.entity_type }, categories: o.categories ? o.categories.split(/[;,，；\n]/).map(function (s) { return s.trim(); }).filter(Boolean) : [] })).then(load, function () {});
    } }, field(t('new_app'), h('input', { name: 'name', required: true })), field(t('entity_name'), h('input', { name: 'entity_name' })),
      field(t('entity_type'), h('input', { name: 'entity_type', size: 10 })), field(t('categories'), h('input', { name: 'categories' })),
      h('button', { type: 'submit' }, t('create')), msg);
    return h('div', { class: 'card' }, f);
  }
  function edit(r) {
    editor.textContent = '';
    var msg = h('p', { id: 'flow-msg' });
    var f = h('form', { id: 'flow-form', class: 'card', onsubmit: function (ev) {
      ev.preventDefault(); var o = formObj(f);
      var body = { name: o.name, liveness_mode: +o.liveness_mode, compare_source: o.compare_source, sim_threshold: +o.sim_threshold || 0,
        consent_text: o.consent_text, redirect_url: o.redirect_url, max_retries: +o.max_retries, guardian_consent: !!o.guardian_consent, disabled: !!o.disabled };
      var p = r ? api('PUT', '/rules/' + r.rule_id, body) : api('POST', '/rules', Object.assign({ app_id: o.app_id }, body));
      status(msg, p).then(function (x) { msg.className = 'msg'; msg.textContent = t('saved') + ' RuleId ' + x.rule_id; load(); }, function () {});
    } }, h('h2', null, r ? t('edit') + ' ' + r.rule_id : t('new_flow')),
      r ? null : field(t('app'), sel('app_id', apps.map(function (a) { return [a.app_id, a.name + ' (' + a.app_id + ')']; }), '')),
      field(t('name'), h('input', { name: 'name', required: true, value: r ? r.name : '' })),
      field(t('liveness_mode'), sel('liveness_mode', modes(), r ? r.liveness_mode : 3)),
      field(t('compare_source'), sel('compare_source', srcs(), r ? r.compare_source : 'gallery')),
      field(t('sim_threshold'), h('input', { name: 'sim_threshold', type: 'number', min: 1, max: 100, step: '0.1', value: r ? r.sim_threshold : 70 })),
      field(t('max_retries'), h('input', { name: 'max_retries', type: 'number', min: 0, max: 10, value: r ? r.max_retries : 3 })),
      field(t('redirect_url'), h('input', { name: 'redirect_url', type: 'url', size: 40, value: r ? r.redirect_url || '' : '' })),
      field(t('consent_text'), h('textarea', { name: 'consent_text' }, r ? r.consent_text : '')),
      h('label', { class: 'check' }, h('input', { type: 'checkbox', name: 'guardian_consent', checked: r && r.guardian_consent }), t('guardian')),
      h('label', { class: 'check' }, h('input', { type: 'checkbox', name: 'disabled', checked: r && r.disabled }), t('disable')),
      h('div', null, h('button', { class: 'primary', type: 'submit', id: 'flow-save' }, t('save'))), msg);
    editor.appendChild(f);
    f.scrollIntoView();
  }
  function verdict(id) {
    editor.textContent = '';
    api('GET', '/rules/' + id + '/eligibility').then(function (d) {
      editor.appendChild(h('div', { class: 'card' }, h('h2', null, t('verdict') + ' · ' + id), verdictView(d.verdict)));
    }, function (e) { editor.appendChild(h('p', { class: 'err' }, errText(e))); });
  }
  el.appendChild(h('div', { class: 'card' }, list));
  el.appendChild(editor);
  load();
};
function verdictView(v) {
  var ok = v.verdict === 'eligible';
  var f = v.findings;
  return h('div', { class: 'verdict' }, h('p', null, h('span', { class: 'tag ' + (ok ? 'ok' : v.verdict === 'ineligible' ? 'bad' : 'warn') }, v.verdict), ' ', S.lang === 'en' ? v.summary_en : v.summary),
    table(['', ''], ['entity', 'category', 'content', 'consistency'].map(function (k) {
      return h('tr', null, h('td', null, k), h('td', null, tag(f[k].ok, '✓', '✗'), ' ', S.lang === 'en' ? f[k].reason_en : f[k].reason));
    })),
    v.triggers && v.triggers.length ? h('p', null, v.triggers.map(function (x) { return h('span', { class: 'tag warn' }, x.phrase); })) : null,
    (v.remediation || []).map(function (r) { return h('p', { class: 'muted' }, '→ ' + (S.lang === 'en' ? r.reason_en : r.reason)); }));
}

// ---- gallery ----
VIEWS.gallery = function (el) {
  var list = h('div'), offset = 0, q = '';
  var sf = h('form', { class: 'filters', onsubmit: function (ev) { ev.preventDefault(); q = formObj(sf).q; offset = 0; load(); } },
    field(t('search'), h('input', { name: 'q' })), h('button', { type: 'submit' }, t('search')));
  function load() {
    api('GET', '/gallery' + qs({ q: q, offset: offset, limit: 20 })).then(function (r) {
      list.textContent = '';
      list.appendChild(table([t('id_number'), t('name'), t('created_at'), t('created_by'), ''], r.identities.map(function (x) {
        return h('tr', null, h('td', null, x.id_number), h('td', null, x.name), h('td', null, fmtTime(x.created_at)), h('td', null, x.created_by),
          h('td', null, can('ModifyGallery') ? h('button', { class: 'danger', onclick: function () {
            if (confirm(t('confirm_delete'))) api('DELETE', '/gallery/' + encodeURIComponent(x.key)).then(load, function (e) { alert(errText(e)); });
          } }, t('remove')) : null));
      })));
      list.appendChild(pager(r.total, offset, 20, function (o) { offset = o; load(); }));
    }, function (e) { list.textContent = errText(e); });
  }
  el.appendChild(h('div', { class: 'card' }, sf, list));
  if (can('ModifyGallery')) {
    var amsg = h('p');
    var af = h('form', { class: 'filters card', id: 'gallery-add', onsubmit: function (ev) {
      ev.preventDefault(); status(amsg, api('POST', '/gallery', new FormData(af)), t('added')).then(load, function () {});
    } }, field(t('id_number'), h('input', { name: 'id_number', required: true })), field(t('name'), h('input', { name: 'name', required: true })),
      field(t('photo'), h('input', { name: 'photo', type: 'file', accept: 'image/*', required: true })),
      h('label', { class: 'check' }, h('input', { type: 'checkbox', name: 'replace', value: 'true' }), t('replace')), h('button', { type: 'submit', class: 'primary' }, t('add')), amsg);
    var rep = h('div', { id: 'import-report' }), imsg = h('p');
    var imf = h('form', { class: 'filters', id: 'gallery-import', onsubmit: function (ev) {
      ev.preventDefault();
      status(imsg, api('POST', '/gallery/import', new FormData(imf))).then(function (r) {
        rep.textContent = '';
        rep.appendChild(h('p', { id: 'import-summary' }, t('added') + ' ' + r.added + ' · ' + t('replaced') + ' ' + r.replaced + ' · ' + t('failed') + ' ' + r.failed + ' · ' + Math.round(r.ms) + ' ms'));
        rep.appendChild(table([t('row'), t('id_number'), t('status'), t('reason')], r.rows.map(function (x) {
          return h('tr', null, h('td', null, x.row), h('td', null, x.id_number), h('td', null, tag(x.status !== 'failed', t(x.status), t('failed'))),
            h('td', null, x.code ? x.code + ' ' + (S.lang === 'en' ? x.message_en : x.message) : ''));
        })));
        load();
      }, function () {});
    } }, field(t('csv_file'), h('input', { name: 'csv', type: 'file', accept: '.csv,text/csv', required: true })),
      field(t('photos_zip'), h('input', { name: 'photos', type: 'file', accept: '.zip,application/zip' })),
      h('label', { class: 'check' }, h('input', { type: 'checkbox', name: 'replace', value: 'true' }), t('replace')),
      h('button', { type: 'submit', class: 'primary' }, t('import')), imsg);
    el.appendChild(af);
    el.appendChild(h('div', { class: 'card' }, h('h2', null, t('import')), imf, rep));
  }
  load();
};

// ---- alerts and report ----
VIEWS.alerts = function (el) {
  var box = h('div');
  function load() {
    Promise.all([api('GET', '/alerts'), api('GET', '/report')]).then(function (r) {
      var a = r[0], rp = r[1]; box.textContent = '';
      var chName = {}; a.channels.forEach(function (c) { chName[c.id] = c.name || c.kind; });
      box.appendChild(h('div', { class: 'card' }, h('h2', null, t('rules')), table([t('name'), t('kind'), t('action'), t('threshold'), t('minutes'), t('channels'), ''],
        a.rules.map(function (x) {
          return h('tr', null, h('td', null, x.name), h('td', null, x.kind), h('td', null, x.action || t('all')), h('td', null, x.threshold), h('td', null, x.minutes),
            h('td', null, (x.channels || []).map(function (c) { return chName[c] || c; }).join(', ')),
            h('td', null, can('ModifyAlerts') ? h('button', { class: 'danger', onclick: function () { api('DELETE', '/alerts/rules/' + x.id).then(load); } }, t('delete')) : null));
        })), can('ModifyAlerts') ? ruleForm(a.channels) : null));
      box.appendChild(h('div', { class: 'card' }, h('h2', null, t('channels')), table([t('name'), t('kind'), t('url'), ''], a.channels.map(function (c) {
        var m = h('span');
        return h('tr', null, h('td', null, c.name), h('td', null, c.kind), h('td', null, c.url || (c.smtp_addr + ' → ' + (c.to || []).join(', '))),
          h('td', null, can('ModifyAlerts') ? [h('button', { onclick: function () { status(m, api('POST', '/alerts/channels/' + c.id + '/test', {}), '✓'); } }, t('test')), ' ',
            h('button', { class: 'danger', onclick: function () { api('DELETE', '/alerts/channels/' + c.id).then(load, function (e) { m.textContent = errText(e); }); } }, t('delete')), m] : null));
      })), can('ModifyAlerts') ? channelForm('/alerts/channels', load) : null));
      box.appendChild(h('div', { class: 'card' }, h('h2', null, t('history')), table([t('fired_at'), t('rules'), t('value'), t('delivery')], a.history.map(function (x) {
        return h('tr', null, h('td', null, fmtTime(x.at)), h('td', null, S.lang === 'en' ? x.message_en : x.message), h('td', null, x.value),
          h('td', null, Object.keys(x.delivery || {}).map(function (k) { return (chName[k] || k) + ': ' + x.delivery[k]; }).join('; ')));
      }))));
      box.appendChild(h('div', { class: 'card', id: 'report' }, h('h2', null, t('report') + ' · ' + (rp.enabled ? rp.hour + ':00' : t('disabled'))), h('pre', null, rp.text),
        table([t('kind'), t('url'), t('created_by'), ''], rp.subscriptions.map(function (s) {
          return h('tr', null, h('td', null, s.channel.kind), h('td', null, s.channel.url || (s.channel.to || []).join(', ')), h('td', null, s.created_by),
            h('td', null, can('UnsubscribeDailyReport') ? h('button', { class: 'danger', onclick: function () { api('DELETE', '/report/subscriptions/' + s.id).then(load); } }, t('delete')) : null));
        })), can('SubscribeDailyReport') ? channelForm('/report/subscriptions', load) : null));
    }, function (e) { box.textContent = errText(e); });
  }
  function ruleForm(chs) {
    var msg = h('p');
    var f = h('form', { class: 'filters', id: 'alert-rule-form', onsubmit: function (ev) {
      ev.preventDefault(); var o = formObj(f);
      var ids = Array.prototype.filter.call(f.querySelectorAll('input[name=ch]'), function (c) { return c.checked; }).map(function (c) { return c.value; });
      status(msg, api('POST', '/alerts/rules', { name: o.name, kind: o.kind, action: o.action, threshold: +o.threshold, minutes: +o.minutes || 0, repeat_minutes: +o.repeat || 0, channels: ids })).then(load, function () {});
    } }, field(t('name'), h('input', { name: 'name', required: true })),
      field(t('kind'), sel('kind', [['calls', t('calls')], ['failure_rate', t('failed') + ' %'], ['day_ratio', t('today') + '/' + t('yesterday') + ' %']], 'calls')),
      field(t('action'), h('input', { name: 'action', size: 16 })), field(t('threshold'), h('input', { name: 'threshold', type: 'number', step: 'any', required: true })),
      field(t('minutes'), h('input', { name: 'minutes', type: 'number', min: 1, max: 60, value: 3 })), field(t('repeat'), h('input', { name: 'repeat', type: 'number', min: 0, value: 60 })),
      chs.map(function (c) { return h('label', { class: 'check' }, h('input', { type: 'checkbox', name: 'ch', value: c.id }), c.name || c.kind); }),
      h('button', { type: 'submit', class: 'primary' }, t('create')), msg);
    return f;
  }
  function channelForm(path, done) {
    var msg = h('p');
    var f = h('form', { class: 'filters', onsubmit: function (ev) {
      ev.preventDefault(); var o = formObj(f);
      var body = { name: o.name, kind: o.kind };
      if (o.kind === 'webhook') body.url = o.url; else { body.smtp_addr = o.smtp_addr; body.from = o.from; body.to = o.to.split(/[,;，]/).map(function (s) { return s.trim(); }).filter(Boolean); body.username = o.username; body.password = o.password; }
      status(msg, api('POST', path, body)).then(done, function () {});
    } }, field(t('name'), h('input', { name: 'name' })), field(t('kind'), sel('kind', [['webhook', t('webhook')], ['email', t('email')]], 'webhook')),
      field(t('url'), h('input', { name: 'url', type: 'url', size: 32 })), field(t('smtp'), h('input', { name: 'smtp_addr', size: 18 })),
      field(t('mail_from'), h('input', { name: 'from' })), field(t('mail_to'), h('input', { name: 'to' })),
      field(t('user'), h('input', { name: 'username', autocomplete: 'off' })), field(t('password'), h('input', { name: 'password', type: 'password', autocomplete: 'new-password' })),
      h('button', { type: 'submit' }, path.indexOf('report') >= 0 ? t('subscribe') : t('add')), msg);
    return f;
  }
  el.appendChild(box);
  load();
};

// ---- logs ----
VIEWS.logs = function (el) {
  var out = h('div', { id: 'log-results' }), offset = 0, q = {};
  var f = h('form', { class: 'filters', id: 'log-form', onsubmit: function (ev) { ev.preventDefault(); q = formObj(f); offset = 0; load(); } },
    field(t('text'), h('input', { name: 'text', size: 24 })), field(t('from'), h('input', { name: 'from', type: 'datetime-local' })), field(t('to'), h('input', { name: 'to', type: 'datetime-local' })),
    field(t('kind_log'), sel('kind', [['', t('all')], ['api', 'API'], ['console', 'console'], ['cli', 'CLI'], ['system', 'system']], '')),
    field(t('app'), h('input', { name: 'app_id', size: 10 })), field(t('action'), h('input', { name: 'action', size: 14 })), field(t('code'), h('input', { name: 'code', size: 14 })),
    field('RequestId', h('input', { name: 'request_id', size: 14 })), h('button', { class: 'primary', type: 'submit' }, t('search')));
  function load() {
    api('GET', '/logs' + qs(Object.assign({}, q, { offset: offset, limit: 20 }))).then(function (r) {
      out.textContent = '';
      var fc = r.facets || {};
      out.appendChild(h('div', { class: 'facets' }, ['action', 'code', 'app_id'].map(function (k) {
        return h('div', null, h('strong', null, k), (fc[k] || []).map(function (x) {
          return h('div', null, h('button', { type: 'button', onclick: function () { q[k] = x.term; f.elements[k] && (f.elements[k].value = x.term); offset = 0; load(); } }, x.term || '-'), ' ', h('span', { class: 'muted' }, x.count));
        }));
      })));
      out.appendChild(table([t('time'), t('kind_log'), t('actor'), t('app'), t('action'), t('code'), 'ms', ''], r.hits.map(function (e) {
        var pre = h('pre', { hidden: true }, JSON.stringify({ request: e.request, response: e.response, steps: e.steps, request_id: e.request_id }, null, 1));
        return h('tr', null, h('td', null, fmtTime(e.time)), h('td', null, e.kind), h('td', null, e.actor || ''), h('td', null, e.app_id || ''), h('td', null, e.action),
          h('td', null, e.code), h('td', null, Math.round(e.duration_ms * 10) / 10), h('td', null, h('button', { type: 'button', onclick: function () { pre.hidden = !pre.hidden; } }, t('detail')), pre));
      })));
      out.appendChild(pager(r.total, offset, 20, function (o) { offset = o; load(); }));
      if (r.behind) out.appendChild(h('p', { class: 'muted' }, '…'));
    }, function (e) { out.textContent = errText(e); });
  }
  el.appendChild(h('div', { class: 'card' }, f, out));
  load();
};

// ---- credentials, keys ----
VIEWS.credentials = function (el) {
  var list = h('div'), once = h('div', { id: 'secret-once' });
  function load() {
    Promise.all([api('GET', '/credentials'), api('GET', '/apps')]).then(function (r) {
      list.textContent = '';
      list.appendChild(table(['SecretId', t('app'), t('created_at'), t('status'), ''], r[0].credentials.map(function (c) {
        return h('tr', null, h('td', null, c.secret_id), h('td', null, c.app_id), h('td', null, fmtTime(c.created_at)), h('td', null, c.revoked ? h('span', { class: 'tag bad' }, t('revoked')) : h('span', { class: 'tag ok' }, t('enabled'))),
          h('td', null, !c.revoked && can('ModifyCredentials') ? h('button', { class: 'danger', onclick: function () { if (confirm(t('revoke') + '?')) api('POST', '/credentials/' + c.secret_id + '/revoke', {}).then(load); } }, t('revoke')) : null));
      })));
      if (can('ModifyCredentials')) {
        var msg = h('p');
        var f = h('form', { class: 'filters', onsubmit: function (ev) {
          ev.preventDefault();
          status(msg, api('POST', '/credentials', { app_id: formObj(f).app_id })).then(function (c) {
            once.textContent = ''; once.appendChild(h('div', { class: 'card' }, h('p', null, t('secret_once')), h('div', { class: 'secret' }, 'SecretId: ' + c.secret_id), h('div', { class: 'secret' }, 'SecretKey: ' + c.secret_key)));
            load();
          }, function () {});
        } }, field(t('app'), sel('app_id', r[1].apps.map(function (a) { return [a.app_id, a.name + ' (' + a.app_id + ')']; }), '')), h('button', { class: 'primary', type: 'submit' }, t('new_secret')), msg);
        list.appendChild(f);
      }
    }, function (e) { list.textContent = errText(e); });
  }
  el.appendChild(once);
  el.appendChild(h('div', { class: 'card' }, list));
  load();
};

VIEWS.keys = function (el) {
  api('GET', '/keys').then(function (k) {
    [['rsa', t('rsa_key')], ['sm2', t('sm2_key')]].forEach(function (x) {
      var d = k[x[0]];
      el.appendChild(h('div', { class: 'card' }, h('h2', null, x[1]), h('p', { class: 'muted' }, d.format + ' · base64'), h('pre', null, d.base64),
        h('p', null, h('a', { href: '/console/api/keys/' + x[0] + '.pem' }, t('download') + ' PEM'), ' · ', h('a', { href: '/console/api/keys/' + x[0] + '.txt' }, t('download') + ' base64'))));
    });
  }, function (e) { el.appendChild(h('p', { class: 'err' }, errText(e))); });
};

// ---- users ----
VIEWS.users = function (el) {
  var list = h('div'), once = h('div');
  function load() {
    Promise.all([api('GET', '/users'), api('GET', '/permissions')]).then(function (r) {
      list.textContent = '';
      list.appendChild(table([t('user'), t('role'), t('created_by'), t('status'), ''], r[0].users.map(function (u) {
        var locked = u.locked_until && new Date(u.locked_until) > new Date();
        return h('tr', null, h('td', null, u.name), h('td', null, u.role + (u.actions && u.actions.length ? ' [' + u.actions.join(', ') + ']' : '')), h('td', null, u.created_by),
          h('td', null, locked ? h('span', { class: 'tag bad' }, t('locked')) : '', u.must_change ? h('span', { class: 'tag warn' }, t('must_change')) : ''),
          h('td', null, can('ModifyUsers') ? [locked ? h('button', { onclick: function () { api('PUT', '/users/' + encodeURIComponent(u.name), { unlock: true }).then(load); } }, t('unlock')) : null, ' ',
            u.name !== S.me.user ? h('button', { class: 'danger', onclick: function () { if (confirm(t('confirm_delete'))) api('DELETE', '/users/' + encodeURIComponent(u.name)).then(load); } }, t('delete')) : null] : null));
      })));
      if (can('ModifyUsers')) {
        var msg = h('p');
        var f = h('form', { class: 'filters', id: 'user-form', onsubmit: function (ev) {
          ev.preventDefault(); var o = formObj(f);
          var body = { name: o.name, role: o.role === 'custom' ? o.policy_name : o.role };
          if (o.role === 'custom') body.actions = o.actions.split(/\s+/).filter(Boolean);
          status(msg, api('POST', '/users', body)).then(function (u) {
            once.textContent = ''; if (u.password) once.appendChild(h('div', { class: 'card' }, t('one_time_pw'), h('div', { class: 'secret' }, u.name + ' / ' + u.password)));
            load();
          }, function () {});
        } }, field(t('user'), h('input', { name: 'name', required: true })),
          field(t('role'), sel('role', [['FullAccess', 'FullAccess'], ['ReadOnly', 'ReadOnly'], ['SelfAccount', 'SelfAccount'], ['custom', 'custom']], 'ReadOnly')),
          field(t('name'), h('input', { name: 'policy_name', placeholder: 'policy' })), field(t('custom_policy'), h('textarea', { name: 'actions', placeholder: 'faceid:DescribeRecords\nfaceid:ConsoleExecuteManualAudit' })),
          h('button', { class: 'primary', type: 'submit' }, t('new_user')), msg);
        list.appendChild(f);
      }
      list.appendChild(h('h2', null, t('permissions')));
      var sc = function (s) { return s === 'all' ? '✓' : s === 'own' ? '✓ (own)' : '✗'; };
      list.appendChild(table([t('feature'), 'faceid:Action', 'FullAccess', 'ReadOnly', 'SelfAccount'], r[1].permissions.map(function (p) {
        return h('tr', null, h('td', null, (S.lang === 'en' ? p.area_en + ' — ' + p.feature_en : p.area + ' — ' + p.feature)), h('td', null, p.action),
          h('td', null, sc(p.full_access)), h('td', null, sc(p.read_only)), h('td', null, sc(p.self_account)));
      })));
    }, function (e) { list.textContent = errText(e); });
  }
  el.appendChild(once);
  el.appendChild(h('div', { class: 'card' }, list));
  load();
};

// ---- eligibility ----
VIEWS.eligibility = function (el) {
  var out = h('div', { id: 'elig-out' }), msg = h('p');
  var f = h('form', { class: 'card', id: 'elig-form', onsubmit: function (ev) {
    ev.preventDefault(); var o = formObj(f);
    status(msg, api('POST', '/eligibility', { entity: { name: o.entity_name, type: o.entity_type }, categories: o.categories, content: o.content, features: o.features })).then(function (v) {
      out.textContent = ''; out.appendChild(h('div', { class: 'card' }, verdictView(v)));
    }, function () {});
  } }, field(t('entity_name'), h('input', { name: 'entity_name', size: 30, required: true })), field(t('entity_type'), h('input', { name: 'entity_type' })),
    field(t('categories'), h('input', { name: 'categories', size: 30 })), field(t('content'), h('textarea', { name: 'content' })),
    field(t('features'), h('input', { name: 'features', size: 30 })), h('div', null, h('button', { class: 'primary', type: 'submit' }, t('check'))), msg);
  el.appendChild(f);
  el.appendChild(out);
};

// ---- settings ----
VIEWS.settings = function (el) {
  api('GET', '/settings').then(function (r) {
    var s = r.settings, msg = h('p'), ro = !can('ModifySettings');
    var num = function (k, step) { return field(t(k), h('input', { name: k, type: 'number', step: step || 'any', value: s[k], disabled: ro })); };
    var f = h('form', { class: 'card', id: 'settings-form', onsubmit: function (ev) {
      ev.preventDefault(); var o = formObj(f);
      status(msg, api('PUT', '/settings', { media_hours: +o.media_hours, result_hours: +o.result_hours, identity_days: +o.identity_days, monitor_days: +o.monitor_days,
        sim_threshold: +o.sim_threshold, max_retries: +o.max_retries, report_enabled: !!o.report_enabled, report_hour: +o.report_hour }), t('saved')).catch(function () {});
    } }, num('media_hours'), num('result_hours'), num('identity_days'), num('monitor_days'), num('sim_threshold'), num('max_retries', 1), num('report_hour', 1),
      h('label', { class: 'check' }, h('input', { type: 'checkbox', name: 'report_enabled', checked: s.report_enabled, disabled: ro }), t('report_enabled')),
      h('p', { class: 'muted' }, r.time_zone), ro ? null : h('button', { class: 'primary', type: 'submit' }, t('save')), msg);
    el.appendChild(f);
  }, function (e) { el.appendChild(h('p', { class: 'err' }, errText(e))); });
};

// ---- account ----
VIEWS.account = function (el) {
  var msg = h('p');
  var f = h('form', { class: 'card', id: 'password-form', onsubmit: function (ev) {
    ev.preventDefault(); var o = formObj(f);
    status(msg, api('POST', '/password', { old_password: o.old_password, new_password: o.new_password }), t('saved')).then(function (me) { S.me = me; S.csrf = me.csrf; setTimeout(render, 600); }, function () {});
  } }, S.me.must_change ? h('p', { class: 'err' }, t('must_change')) : null, h('h2', null, t('change_password')),
    field(t('old_password'), h('input', { name: 'old_password', type: 'password', autocomplete: 'current-password', required: true })),
    field(t('new_password'), h('input', { name: 'new_password', type: 'password', autocomplete: 'new-password', minlength: 10, required: true })),
    h('div', null, h('button', { class: 'primary', type: 'submit' }, t('save'))), msg);
  el.appendChild(f);
};

// ---- counter mode ----
VIEWS.counter = function (el) {
  var out = h('div', { id: 'counter-out' }), msg = h('p', { id: 'counter-msg' });
  api('GET', '/rules').then(function (r) {
    var rules = r.rules.filter(function (x) { return !x.disabled; });
    var f = h('form', { class: 'card', id: 'counter-form', onsubmit: function (ev) {
      ev.preventDefault(); var o = formObj(f);
      status(msg, api('POST', '/counter', { rule_id: o.rule_id, name: o.name, id_number: o.id_number })).then(function (s) { capture(s); }, function () {});
    } }, field(t('window_flow'), sel('rule_id', rules.map(function (x) { return [x.rule_id, x.rule_id + ' · ' + x.name]; }), localStorage.getItem('heshen.counter.rule') || '')),
      field(t('name'), h('input', { name: 'name', required: true, autocomplete: 'off' })), field(t('id_number'), h('input', { name: 'id_number', required: true, autocomplete: 'off', size: 20 })),
      h('div', null, h('button', { class: 'primary', type: 'submit', id: 'counter-start' }, t('start_capture'))), msg,
      S.me.capture ? null : h('p', { class: 'muted', id: 'capture-missing' }, t('capture_unavailable')));
    f.elements.rule_id.addEventListener('change', function () { localStorage.setItem('heshen.counter.rule', f.elements.rule_id.value); });
    el.appendChild(f);
    el.appendChild(out);
  });
  // capture sends the webcam to the server over WebRTC; the server decides.
  function capture(s) {
    out.textContent = '';
    if (!s.capture) { out.appendChild(h('p', { class: 'err' }, t('capture_unavailable'))); return; }
    var video = h('video', { autoplay: true, muted: true, playsinline: true, class: 'cam' });
    var state = h('p', null, t('verifying'));
    out.appendChild(h('div', { class: 'card' }, video, state));
    var pc = new RTCPeerConnection({ iceServers: [] });
    var flash = document.getElementById('counter-flash') || document.body.appendChild(h('div', { id: 'counter-flash' }));
    flash.style.cssText = 'position:fixed;inset:0;pointer-events:none;z-index:50;background:transparent';
    navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 }, audio: false }).then(function (stream) {
      video.srcObject = stream;
      stream.getTracks().forEach(function (tr) { pc.addTrack(tr, stream); });
      // The server's challenge steps: prompt, full-screen colour, ack.
      var dc = pc.createDataChannel('ctl');
      dc.onmessage = function (ev) {
        var m; try { m = JSON.parse(ev.data); } catch (e) { return; }
        if (m.type !== 'step') return;
        state.textContent = S.lang === 'en' ? (m.text_en || m.text) : (m.text || m.text_en);
        flash.style.background = m.kind === 'colour' ? m.colour : 'transparent';
        requestAnimationFrame(function () { if (dc.readyState === 'open') dc.send(JSON.stringify({ type: 'ack', id: m.id, t: performance.now() })); });
      };
      return pc.createOffer();
    }).then(function (o) { return pc.setLocalDescription(o); }).then(function () {
      return new Promise(function (res) { if (pc.iceGatheringState === 'complete') res(); else pc.addEventListener('icegatheringstatechange', function () { if (pc.iceGatheringState === 'complete') res(); }); setTimeout(res, 2000); });
    }).then(function () {
      return api('POST', '/counter/' + s.session + '/offer', { sdp: pc.localDescription.sdp });
    }).then(function (a) { return pc.setRemoteDescription({ type: 'answer', sdp: a.sdp }); }).then(function () { poll(s, state, pc, video); },
      function (e) { state.className = 'err'; state.textContent = errText(e); pc.close(); });
  }
  function poll(s, state, pc, video) {
    api('GET', '/counter/' + s.session).then(function (r) {
      if (!r.done) { setTimeout(function () { poll(s, state, pc, video); }, 700); return; }
      pc.close(); if (video.srcObject) video.srcObject.getTracks().forEach(function (tr) { tr.stop(); });
      var fl = document.getElementById('counter-flash'); if (fl) fl.style.background = 'transparent';
      var x = r.result; state.textContent = '';
      state.appendChild(h('span', { class: 'tag ' + (x.passed ? 'ok' : 'bad'), id: 'counter-verdict' }, x.passed ? t('verdict_pass') : t('failed')));
      state.appendChild(document.createTextNode(' ' + t('sim') + ' ' + x.sim.toFixed(1) + ' · ' + t('live') + ' ' + x.live_status + ' · ' + (S.lang === 'en' ? x.message_en : x.message)));
      var m = h('span');
      state.appendChild(h('div', null, h('button', { id: 'counter-review', onclick: function () { status(m, api('POST', '/counter/' + s.session + '/review', {}), '✓'); } }, t('send_review')), m));
    }, function (e) { state.className = 'err'; state.textContent = errText(e); });
  }
};

boot();
})();
