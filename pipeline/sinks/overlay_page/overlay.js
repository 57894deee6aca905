// litecam overlay page: receives frames over a WebSocket and draws them with their alpha.
//
// Each binary message: a 48-byte little-endian header (magic "LCO1", u32 seq, i64 pts_ns,
// i64 capture_ns, u16 width, height of the frame, u16 x, y, box_width, box_height of the person's
// bounding box, u16 alpha_width, alpha_height, u32 colour_bytes, u32 alpha_bytes), then a JPEG of
// the box's colour and a palette PNG of the box's alpha (half size) whose decoded alpha channel is
// the matte. Outside the box the frame is transparent. Composition needs no per-pixel JavaScript:
// clear, draw the colour into the box, then the alpha image scaled up to the box with
// "destination-in" (which keeps the colour only as far as the alpha image is opaque).
//
// After drawing a frame the page sends {"seq", "capture_ns"} back: that is the server's credit
// window (it sends at most a couple of unacknowledged frames) and its latency measurement.
// On disconnect the canvas is cleared at once (never a stale frame) and the page reconnects with
// back-off (0.25 s doubling to 4 s). The state is in window.litecam (tests and curious users).
"use strict";
(function () {
  const canvas = document.getElementById("overlay");
  const ctx = canvas.getContext("2d", { alpha: true });
  const params = new URLSearchParams(window.location.search);
  const token = params.get("token");
  const wsUrl = (window.location.protocol === "https:" ? "wss://" : "ws://") + window.location.host +
    "/ws" + (token !== null ? "?token=" + encodeURIComponent(token) : "");
  const HEADER_BYTES = 48;
  const MAGIC = 0x314f434c; // "LCO1" read as little-endian u32

  const state = window.litecam = {
    connected: false, connections: 0, frames: 0, drawn: 0, lastSeq: -1, fps: 0, errors: 0,
    arrivals: [], // performance.now() of the last received frames (for fps)
    pageMs: [], // arrival to drawn, ms, of the last 120 frames drawn (decode + draw in this page)
  };
  let socket = null;
  let generation = 0; // bumps on every (re)connect: late decodes of an old connection are dropped
  let backoffMs = 250;
  let drawnSeq = -1;

  function clear() {
    ctx.globalCompositeOperation = "copy";
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    drawnSeq = -1;
  }

  function countArrival() {
    const now = performance.now();
    state.frames += 1;
    state.arrivals.push(now);
    while (state.arrivals.length > 0 && now - state.arrivals[0] > 2000) state.arrivals.shift();
    const n = state.arrivals.length;
    state.fps = n > 1 ? (n - 1) * 1000 / (state.arrivals[n - 1] - state.arrivals[0]) : 0;
  }

  async function onFrame(buffer, gen) {
    const arrivedMs = performance.now();
    const view = new DataView(buffer);
    if (buffer.byteLength < HEADER_BYTES || view.getUint32(0, true) !== MAGIC) { state.errors += 1; return; }
    const seq = view.getUint32(4, true);
    const captureNs = view.getBigInt64(16, true);
    const width = view.getUint16(24, true), height = view.getUint16(26, true);
    const x = view.getUint16(28, true), y = view.getUint16(30, true);
    const boxWidth = view.getUint16(32, true), boxHeight = view.getUint16(34, true);
    const colourBytes = view.getUint32(40, true), alphaBytes = view.getUint32(44, true);
    countArrival();
    let colour = null, alpha = null;
    if (colourBytes > 0 && alphaBytes > 0) { // an empty box: nobody in the picture, all transparent
      const colourBlob = new Blob([new Uint8Array(buffer, HEADER_BYTES, colourBytes)], { type: "image/jpeg" });
      const alphaBlob = new Blob([new Uint8Array(buffer, HEADER_BYTES + colourBytes, alphaBytes)],
        { type: "image/png" });
      try {
        [colour, alpha] = await Promise.all([
          createImageBitmap(colourBlob, { colorSpaceConversion: "none" }),
          createImageBitmap(alphaBlob, { colorSpaceConversion: "none", premultiplyAlpha: "premultiply" }),
        ]);
      } catch (err) {
        state.errors += 1;
        ack(gen, seq, captureNs);
        return;
      }
    }
    if (gen === generation && state.connected && (drawnSeq < 0 || seq > drawnSeq || seq + 1000 < drawnSeq)) {
      if (canvas.width !== width || canvas.height !== height) {
        canvas.width = width;
        canvas.height = height;
      }
      ctx.globalCompositeOperation = "copy";
      ctx.clearRect(0, 0, width, height);
      if (colour !== null) {
        ctx.imageSmoothingEnabled = true;
        ctx.imageSmoothingQuality = "low"; // bilinear: the matte was smooth before it was halved
        ctx.globalCompositeOperation = "source-over";
        ctx.drawImage(colour, x, y, boxWidth, boxHeight);
        ctx.globalCompositeOperation = "destination-in";
        ctx.drawImage(alpha, x, y, boxWidth, boxHeight);
      }
      drawnSeq = seq;
      state.drawn += 1;
      state.lastSeq = seq;
      state.pageMs.push(performance.now() - arrivedMs);
      if (state.pageMs.length > 120) state.pageMs.shift();
    }
    if (colour !== null) { colour.close(); alpha.close(); }
    ack(gen, seq, captureNs);
  }

  function ack(gen, seq, captureNs) {
    if (gen === generation && socket !== null && socket.readyState === WebSocket.OPEN) {
      socket.send(JSON.stringify({ seq: seq, capture_ns: captureNs.toString() }));
    }
  }

  function connect() {
    generation += 1;
    const gen = generation;
    const ws = new WebSocket(wsUrl);
    ws.binaryType = "arraybuffer";
    socket = ws;
    ws.onopen = function () {
      if (gen !== generation) return;
      state.connected = true;
      state.connections += 1;
      backoffMs = 250;
      document.title = "litecam overlay";
    };
    ws.onmessage = function (event) {
      if (gen !== generation || typeof event.data === "string") return; // text: the server's hello
      onFrame(event.data, gen);
    };
    ws.onclose = function () {
      if (gen !== generation) return;
      state.connected = false;
      generation += 1; // frames still decoding belong to the closed connection
      clear();
      document.title = "litecam overlay (reconnecting)";
      setTimeout(connect, backoffMs);
      backoffMs = Math.min(backoffMs * 2, 4000);
    };
    ws.onerror = function () { /* onclose follows and reconnects */ };
  }

  clear();
  connect();
})();
