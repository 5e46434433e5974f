// The hosted flow's page: consent → identity (when typed) → camera over
// WebRTC with the server's prompts and colour flashes → result → redirect.
// The server decides everything from the video it decodes.
(function () {
  'use strict';
  var token = decodeURIComponent(location.pathname.split('/')[2] || '');
  var base = '/h5/' + encodeURIComponent(token);
  var q = new URLSearchParams(location.search);
  var lang = q.get('lang') || localStorage.getItem('heshen.h5.lang') || 'zh';
  var TEXT = {
    zh: {
      title: '人脸核身', switchTo: 'English', loading: '加载中…', consentTitle: '授权声明',
      consentDefault: '为核实您的身份，本服务将通过摄像头采集您的人脸视频，并与您提供的身份信息或照片进行比对。人脸图像和视频仅用于本次核验，核验完成后2小时内删除，核验结果保存3天。',
      agree: '我已阅读并同意上述授权声明', guardian: '本人为未成年人的监护人，同意其进行人脸核验', next: '下一步',
      identityTitle: '请填写身份信息', name: '姓名', id: '身份证号', start: '开始核验',
      opening: '正在打开摄像头…', connecting: '正在连接…', look: '请正对屏幕', lost: '网络连接中断',
      pass: '核验通过', fail: '核验未通过', code: '错误码', retry: '重新核验', back: '返回', redirecting: '即将返回…',
      stop: '无法继续核验', unknown: '核验链接无效', noCapture: '本机未启用实时采集', failed: '出错了：',
      attempts: '剩余次数：'
    },
    en: {
      title: 'Face verification', switchTo: '中文', loading: 'Loading…', consentTitle: 'Consent',
      consentDefault: 'To verify your identity, this service records your face through the camera and compares it with the identity or photo provided. The images and video are used only for this verification and deleted within 2 hours; the result is kept for 3 days.',
      agree: 'I have read and agree to the statement above', guardian: 'I am the guardian of the minor being verified and consent to it', next: 'Next',
      identityTitle: 'Your identity', name: 'Name', id: 'ID number', start: 'Start',
      opening: 'Opening the camera…', connecting: 'Connecting…', look: 'Look at the screen', lost: 'Connection lost',
      pass: 'Verified', fail: 'Not verified', code: 'Code', retry: 'Try again', back: 'Back', redirecting: 'Returning…',
      stop: 'Verification cannot continue', unknown: 'This link is not valid', noCapture: 'Live capture is not enabled', failed: 'Error: ',
      attempts: 'Attempts left: '
    }
  };
  var T;
  var info = null, session = null, lastResult = null, lastStop = null;
  var $ = function (id) { return document.getElementById(id); };
  function text(id, s) { $(id).textContent = s == null ? '' : s; }
  function msg(o) { return lang === 'en' ? (o.message_en || o.message || '') : (o.message || o.message_en || ''); }

  function show(name) {
    ['load', 'stop', 'consent', 'identity', 'capture', 'result'].forEach(function (s) { $('s-' + s).hidden = s !== name; });
    document.body.dataset.state = name;
  }

  function applyLang() {
    T = TEXT[lang] || TEXT.zh;
    document.documentElement.lang = lang === 'en' ? 'en' : 'zh-CN';
    document.title = T.title;
    text('title', T.title); text('lang', T.switchTo); text('load-text', T.loading);
    text('consent-title', T.consentTitle); text('agree-text', T.agree); text('guardian-text', T.guardian); text('consent-next', T.next);
    text('identity-title', T.identityTitle); text('name-label', T.name); text('id-label', T.id); text('identity-next', T.start);
    text('retry', T.retry); text('stop-back', T.back); text('result-back', T.back);
    if (info) text('consent-text', info.consent_text || T.consentDefault);
    if (lastResult) showResult(lastResult);
    if (lastStop) stopPage(lastStop[0], lastStop[1]);
  }

  async function api(method, path, body, headers) {
    var res = await fetch(base + path, {
      method: method, credentials: 'same-origin', cache: 'no-store',
      headers: Object.assign(body ? { 'Content-Type': 'application/json' } : {}, headers || {}),
      body: body ? JSON.stringify(body) : undefined
    });
    var out = {};
    try { out = await res.json(); } catch (e) { /* not JSON */ }
    if (!res.ok || out.error) { var e = new Error(msg(out.error || {}) || ('HTTP ' + res.status)); e.info = out; e.status = res.status; throw e; }
    return out;
  }

  function stopPage(err, redirect) {
    lastStop = [err, redirect];
    show('stop');
    var o = err || {};
    text('stop-title', o.err_code ? T.stop : T.unknown);
    text('stop-msg', msg(o));
    text('stop-code', o.err_code ? T.code + ' ' + o.err_code : (o.code || ''));
    document.body.dataset.errCode = o.err_code || '';
    var back = $('stop-back');
    back.hidden = !redirect;
    if (redirect) back.href = redirect;
  }

  async function load() {
    show('load');
    try {
      info = await api('GET', '/info');
    } catch (e) {
      var o = (e.info && e.info.error) || { message: e.message, message_en: e.message };
      stopPage(o, e.info && e.info.redirect);
      return;
    }
    applyLang();
    $('guardian-row').hidden = !info.guardian;
    show('consent');
  }

  function consentOK() { return $('agree').checked && (!info.guardian || $('guardian').checked); }
  $('agree').onchange = $('guardian').onchange = function () { $('consent-next').disabled = !consentOK(); };
  $('consent-next').onclick = function () {
    if (!consentOK()) return;
    if (info.need_identity) show('identity'); else capture();
  };
  $('identity-form').onsubmit = async function (ev) {
    ev.preventDefault();
    text('identity-err', '');
    try {
      await api('POST', '/identity', { name: $('name').value.trim(), id_number: $('id_number').value.trim().toUpperCase() });
      info.need_identity = false;
      capture();
    } catch (e) {
      if (e.status === 410) return load();
      text('identity-err', e.message);
    }
  };

  function onStep(m) {
    var flash = $('flash');
    text('prompt', lang === 'en' ? (m.text_en || m.text) : (m.text || m.text_en));
    flash.style.background = m.kind === 'colour' ? m.colour : 'transparent';
  }

  function onResult(m) {
    $('flash').style.background = 'transparent';
    lastResult = m;
    if (session) { session.close(); session = null; }
    showResult(m);
    if (m.redirect) setTimeout(function () { location.href = m.redirect; }, 3000);
  }

  function showResult(m) {
    show('result');
    var icon = $('result-icon');
    icon.textContent = m.pass ? '✓' : '✕';
    icon.className = 'icon' + (m.pass ? '' : ' bad');
    text('result-title', m.pass ? T.pass : T.fail);
    text('result-msg', msg(m));
    var parts = [];
    if (!m.pass) parts.push(T.code + ' ' + m.err_code);
    if (m.retry && !m.pass) parts.push(T.attempts + m.attempts_left);
    if (m.redirect) parts.push(T.redirecting);
    text('result-code', parts.join(' · '));
    document.body.dataset.errCode = String(m.err_code);
    $('retry').hidden = !m.retry || m.pass;
    var back = $('result-back');
    back.hidden = !m.redirect;
    if (m.redirect) back.href = m.redirect;
  }
  $('retry').onclick = function () { lastResult = null; capture(); };

  async function capture() {
    show('capture');
    text('prompt', '');
    text('status', T.opening);
    var consent = 'agree' + (info.guardian ? ' guardian' : '');
    try {
      session = await HeshenCapture.start({
        offerURL: base + '/offer', headers: { 'X-Heshen-Consent': consent },
        onStep: onStep, onResult: onResult,
        onState: function (st) {
          if (st === 'connected') text('status', '');
          if ((st === 'failed' || st === 'disconnected') && !lastResult) text('status', T.lost);
        }
      });
      $('preview').srcObject = session.stream;
      text('status', T.connecting);
      text('prompt', T.look);
    } catch (e) {
      // The token may have stopped (completed, expired, out of retries).
      try { info = await api('GET', '/info'); } catch (e2) {
        var o = (e2.info && e2.info.error) || {};
        return stopPage(o, e2.info && e2.info.redirect);
      }
      onResult({ pass: false, err_code: e.code || '', message: T.failed + e.message, message_en: T.failed + e.message, retry: true, attempts_left: info.attempts_left });
    }
  }

  $('lang').onclick = function () {
    lang = lang === 'en' ? 'zh' : 'en';
    localStorage.setItem('heshen.h5.lang', lang);
    applyLang();
  };
  applyLang();
  load();
})();
