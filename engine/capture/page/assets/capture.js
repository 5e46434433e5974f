// HeshenCapture: sends the camera to the appliance over WebRTC and renders
// the server's challenge steps. The server decides everything from the video
// it decodes; this script only shows prompts and acknowledges them.
(function (global) {
  'use strict';

  function waitGathering(pc, ms) {
    return new Promise(function (resolve) {
      if (pc.iceGatheringState === 'complete') return resolve();
      var t = setTimeout(resolve, ms);
      pc.addEventListener('icegatheringstatechange', function () {
        if (pc.iceGatheringState === 'complete') { clearTimeout(t); resolve(); }
      });
    });
  }

  function CaptureError(message, code, reason) {
    var e = new Error(message);
    e.code = code || 'FailedOperation';
    e.reason = reason || '';
    return e;
  }

  // start(options) resolves to a session {pc, dc, stream, close()}.
  // options: offerURL (required), stream (a MediaStream to send instead of
  // the camera), width/height/frameRate (640/480/30), gatherMs (2000),
  // headers (extra request headers), onStep(step), onResult(msg),
  // onMessage(msg), onState(connectionState).
  async function start(options) {
    var o = Object.assign({ width: 640, height: 480, frameRate: 30, gatherMs: 2000, headers: {} }, options);
    if (!o.offerURL) throw CaptureError('offerURL missing', 'InvalidParameter');
    if (!global.RTCPeerConnection) throw CaptureError('WebRTC is not supported by this browser', 'UnsupportedOperation', 'NO_WEBRTC');
    var stream = o.stream;
    if (!stream) {
      if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
        throw CaptureError('camera needs a secure (https) page', 'UnsupportedOperation', 'INSECURE_CONTEXT');
      }
      stream = await navigator.mediaDevices.getUserMedia({
        audio: false,
        video: { width: { ideal: o.width }, height: { ideal: o.height }, frameRate: { ideal: o.frameRate }, facingMode: 'user' }
      });
    }
    var pc = new RTCPeerConnection({ iceServers: [] });
    var session = {
      pc: pc, dc: null, stream: stream, closed: false,
      close: function () {
        if (session.closed) return;
        session.closed = true;
        try { pc.close(); } catch (e) { /* already closed */ }
        if (!o.stream) stream.getTracks().forEach(function (t) { t.stop(); });
      }
    };
    try {
      var track = stream.getVideoTracks()[0];
      var tr = pc.addTransceiver(track, { direction: 'sendonly', streams: [stream] });
      try {
        // Analysis needs pixels more than frame rate.
        var p = tr.sender.getParameters();
        p.degradationPreference = 'maintain-resolution';
        if (!p.encodings || !p.encodings.length) p.encodings = [{}];
        p.encodings[0].maxBitrate = 2500000;
        await tr.sender.setParameters(p);
      } catch (e) { /* optional */ }
      var dc = pc.createDataChannel('ctl', { ordered: true });
      session.dc = dc;
      dc.onmessage = function (ev) {
        var m;
        try { m = JSON.parse(ev.data); } catch (e) { return; }
        if (m.type === 'step') {
          Promise.resolve(o.onStep && o.onStep(m)).then(function () {
            // Acknowledge once the step has been painted.
            requestAnimationFrame(function () {
              if (dc.readyState === 'open') dc.send(JSON.stringify({ type: 'ack', id: m.id, t: performance.now() }));
            });
          });
        } else if (m.type === 'result' && o.onResult) {
          o.onResult(m);
        }
        if (o.onMessage) o.onMessage(m);
      };
      pc.onconnectionstatechange = function () { if (o.onState) o.onState(pc.connectionState); };
      await pc.setLocalDescription(await pc.createOffer());
      await waitGathering(pc, o.gatherMs);
      var headers = Object.assign({ 'Content-Type': 'application/json' }, o.headers);
      var res = await fetch(o.offerURL, {
        method: 'POST', headers: headers, credentials: 'same-origin',
        body: JSON.stringify({ sdp: pc.localDescription.sdp })
      });
      var body = {};
      try { body = await res.json(); } catch (e) { /* not JSON */ }
      if (!res.ok || body.error || !body.sdp) {
        var er = body.error || {};
        throw CaptureError(er.message || ('HTTP ' + res.status), er.code, er.reason);
      }
      session.id = body.session || '';
      await pc.setRemoteDescription({ type: 'answer', sdp: body.sdp });
      return session;
    } catch (e) {
      session.close();
      throw e;
    }
  }

  global.HeshenCapture = { start: start };
})(window);
