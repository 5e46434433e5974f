// The capture screen: prompts, colour flashes and the result, on HeshenCapture.
(function () {
  'use strict';
  // Query: offer=<POST URL> (default "offer"), lang=zh|en, auto=1 starts at once.
  var q = new URLSearchParams(location.search);
  var en = q.get('lang') === 'en';
  var T = en ? {
    start: 'Start', title: 'Face verification', starting: 'Opening the camera…', connecting: 'Connecting…',
    live: 'Look at the screen', failed: 'Failed: ', pass: 'Passed', fail: 'Not passed', lost: 'Connection lost'
  } : {
    start: '开始', title: '人脸核身', starting: '正在打开摄像头…', connecting: '正在连接…',
    live: '请正对屏幕', failed: '失败：', pass: '核验通过', fail: '核验未通过', lost: '连接已断开'
  };
  document.documentElement.lang = en ? 'en' : 'zh-CN';
  document.title = T.title;
  var $ = function (id) { return document.getElementById(id); };
  var btn = $('start');
  btn.textContent = T.start;
  function say(id, text) { $(id).textContent = text || ''; }

  function onStep(m) {
    say('prompt', en ? (m.text_en || m.text) : (m.text || m.text_en));
    $('flash').style.background = m.kind === 'colour' ? m.colour : 'transparent';
    if (m.kind === 'done') $('flash').style.background = 'transparent';
  }
  function onResult(m) {
    $('flash').style.background = 'transparent';
    say('prompt', m.pass ? T.pass : T.fail);
    say('status', en ? (m.message_en || '') : (m.message || ''));
    if (m.redirect) setTimeout(function () { location.href = m.redirect; }, 1500);
  }
  async function run() {
    btn.hidden = true;
    say('status', T.starting);
    try {
      var s = await HeshenCapture.start({
        offerURL: q.get('offer') || 'offer', onStep: onStep, onResult: onResult,
        onState: function (st) {
          if (st === 'connected') say('status', '');
          if (st === 'failed' || st === 'disconnected') say('status', T.lost);
        }
      });
      $('preview').srcObject = s.stream;
      say('status', T.connecting);
      say('prompt', T.live);
    } catch (e) {
      say('status', T.failed + e.message);
      btn.hidden = false;
    }
  }
  btn.onclick = run;
  if (q.get('auto') === '1') run();
})();
