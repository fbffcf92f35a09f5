/* Latent diffusion (chapter 12): reverse diffusion in the latent plane of the shipped 2-D VAE.
 *
 * The prior eps_theta(z_t, t, y) is vae_lib/results/latent2d_prior.pt (an EpsilonMLP trained on the
 * codes z ~ q(z|x) of the 2-D VAE, exported by vae_lib/export.py as models/latent2d_prior.*; the
 * forward pass is written out in that module's docstring). N points start at z_T ~ N(0, I) and move
 * by the ancestral sampler of vae_lib.latent_diffusion.sample, with classifier-free guidance:
 *
 *   eps_w   = eps(z, t, none) + w (eps(z, t, y) - eps(z, t, none))     (no digit: eps(z, t, none))
 *   z_{t-1} = (z_t - beta_t / sqrt(1 - abar_t) eps_w) / sqrt(alpha_t) + sqrt(beta_t) n_t,   n_1 = 0.
 *
 * The draws (z_T, then n_T, ..., n_2: sample's order) come from the seeded VAEX.rng, so a test can
 * replay them through vae_lib. The whole chain t = T..0 is stored; after a change of the digit, of w
 * or of the draws it is recomputed in chunks of 40 points per call, for about 12 ms per animation
 * frame (each frame's work is one timed update, so even a first, not yet compiled step stays within
 * the 50 ms budget), and the time slider scrubs the stored chain. The strip shows the
 * decoder's Bernoulli mean sigmoid(logits(z_t)) of eight numbered points at the current t: only z_0
 * is meant as a code; the images at t > 0 are an illustration of where the points are. The readout
 * gives the points' mean and standard deviation per axis (from about (0, 0) and (1, 1) at t = T).
 */
(function () {
  "use strict";
  var N = 240, CHUNK = 40, SHOWN = 8, SEED = 20240, FRAME_MS = 12, TICK_MS = 70, CELL = 84;

  /** The eps-network and schedule of a models/latent2d_prior.* file (float64 arithmetic). */
  function makePrior(m) {
    var cfg = m.header.model, t = m.t, D = cfg.z_dim, H = cfg.hidden, TT = cfg.T, TD = cfg.time_dim;
    var half = TD / 2, IN = D + TD, C = cfg.n_classes;
    var betas = m.header.schedule.betas.slice(), alphas = [], abar = [1], s, o, j;
    for (s = 0; s < TT; s++) { alphas.push(1 - betas[s]); abar.push(abar[s] * alphas[s]); }
    var Win = t["inp.weight"], bin = t["inp.bias"], Wout = t["out.weight"], bout = t["out.bias"];
    var blocks = m.header.network.blocks.map(function (name) { return { W: t[name + ".weight"], b: t[name + ".bias"] }; });
    // the part of the first layer that depends on t alone: c_t = b_inp + W_inp[:, D:] f(t), t = 1..T
    var ct = [null];
    for (s = 1; s <= TT; s++) {
      var f = new Float64Array(TD);
      for (j = 0; j < half; j++) {
        var angle = s / TT * 1000 * Math.exp(-Math.log(1000) * j / half);
        f[j] = Math.sin(angle); f[j + half] = Math.cos(angle);
      }
      var c = new Float64Array(H);
      for (o = 0; o < H; o++) { var acc = bin[o]; for (j = 0; j < TD; j++) acc += Win[o * IN + D + j] * f[j]; c[o] = acc; }
      ct.push(c);
    }
    var emb = [];  // label rows; row C is "no label"
    for (var y = 0; y <= C; y++) {
      var e = new Float64Array(H);
      if (C) for (o = 0; o < H; o++) e[o] = t["label.weight"][y * H + o];
      emb.push(e);
    }
    var h = new Float64Array(H), a = new Float64Array(H), cy = new Float64Array(H);
    function silu(x) { return x / (1 + Math.exp(-x)); }

    /** eps_theta(z, t, y) for n points z (n * D numbers, point-major) at step t with label y -> out. */
    function eps(z, n, step, y, out) {
      var c = ct[step], e = emb[y], p, o, i, k, acc, row;
      for (o = 0; o < H; o++) cy[o] = c[o] + e[o];
      for (p = 0; p < n; p++) {
        var zp = p * D;
        for (o = 0; o < H; o++) {
          acc = cy[o]; row = o * IN;
          for (k = 0; k < D; k++) acc += Win[row + k] * z[zp + k];
          h[o] = silu(acc);
        }
        for (var b = 0; b < blocks.length; b++) {
          var W = blocks[b].W, bb = blocks[b].b;
          for (o = 0; o < H; o++) {
            acc = bb[o] + e[o]; row = o * H;
            for (i = 0; i < H; i++) acc += W[row + i] * h[i];
            a[o] = acc;
          }
          for (o = 0; o < H; o++) h[o] += silu(a[o]);
        }
        for (k = 0; k < D; k++) {
          acc = bout[k]; row = k * H;
          for (i = 0; i < H; i++) acc += Wout[row + i] * h[i];
          out[zp + k] = acc;
        }
      }
      return out;
    }
    var bufU = null, bufC = null;
    /** Guided eps (digit null: the unconditional eps). */
    function guided(z, n, step, digit, w, out) {
      if (digit === null) return eps(z, n, step, C, out);
      if (!bufU || bufU.length < n * D) { bufU = new Float64Array(n * D); bufC = new Float64Array(n * D); }
      eps(z, n, step, C, bufU);
      eps(z, n, step, digit, bufC);
      for (var i = 0; i < n * D; i++) out[i] = bufU[i] + w * (bufC[i] - bufU[i]);
      return out;
    }
    /** One reverse step t -> t - 1 for n points; noise (n * D numbers) is ignored at t = 1. */
    function step(z, n, s, digit, w, noise, out) {
      var e = guided(z, n, s, digit, w, new Float64Array(n * D));
      var beta = betas[s - 1], k = beta / Math.sqrt(1 - abar[s]), r = Math.sqrt(alphas[s - 1]), sigma = Math.sqrt(beta);
      for (var i = 0; i < n * D; i++) {
        out[i] = (z[i] - k * e[i]) / r;
        if (s > 1) out[i] += sigma * noise[i];
      }
      return out;
    }
    return { D: D, T: TT, C: C, betas: betas, eps: eps, guided: guided, step: step };
  }

  window.vaeExplorables._register("latent-diffusion", function (el, X, base) {
    var T = {
      title: { en: "Explore: reverse diffusion in the 2-D latent space", ko: "직접 해 보기: 2차원 잠재 공간의 역방향 확산" },
      note: { en: "240 points start as draws z_T ~ N(0, I) and move by the learned prior's reverse steps (the mean it predicts plus noise σ_t·ε; no noise at the last step) onto the codes of test images (coloured dots), the aggregate posterior. Pick a digit to guide them towards it (classifier-free guidance of scale w). The numbered points are decoded in the images: the decoder's Bernoulli mean of z_t (only z_0 is a code; at t > 0 the images just show where the points are).",
        ko: "점 240개가 z_T ~ N(0, I)에서 출발해, 학습한 사전 분포의 역방향 단계(예측한 평균 + 잡음 σ_t·ε, 마지막 단계에는 잡음 없음)를 따라 테스트 이미지의 코드(색 점), 곧 집계 사후 분포 위로 옮겨 갑니다. 숫자를 고르면 분류기 없는 가이던스(강도 w)로 점들을 그 숫자 쪽으로 이끕니다. 번호 붙은 점은 디코딩해 이미지로 보여 줍니다. z_t의 디코더 베르누이 평균이며, 코드라고 할 수 있는 것은 z_0뿐입니다(t > 0의 이미지는 점의 위치를 보여 줄 뿐입니다)." },
      loading: { en: "loading the models…", ko: "모델을 불러오는 중…" },
      plane: { en: "Latent plane with the codes of test images and the moving points; the numbered points are decoded in the images", ko: "테스트 이미지 코드와 움직이는 점이 있는 잠재 평면. 번호 붙은 점은 디코딩해 이미지로 보여 줍니다" },
      strip: { en: "decoded images E[x|z_t] of the numbered points", ko: "번호 붙은 점의 디코딩 이미지 E[x|z_t]" },
      start: { en: "▶ Start", ko: "▶ 시작" }, pause: { en: "❚❚ Pause", ko: "❚❚ 일시 정지" },
      redraw: { en: "new draws of z_T and noise", ko: "z_T와 잡음 새로 추출" },
      time: { en: "time step t (T → 0)", ko: "시간 단계 t (T → 0)" },
      digit: { en: "guide towards the digit", ko: "이끌 숫자" },
      none: { en: "none (unconditional)", ko: "없음 (무조건부)" },
      scale: { en: "guidance scale w", ko: "가이던스 강도 w" },
      computing: { en: "computing the chain… t = ", ko: "사슬 계산 중… t = " },
      unguided: { en: "no guidance", ko: "가이던스 없음" },
      guidedTo: { en: "guided to ", ko: "이끄는 숫자 " },
      spread: { en: "points: mean ", ko: "점들: 평균 " }, sd: { en: ", standard deviation ", ko: ", 표준편차 " },
    };
    X.frame(el, T.title, T.note);
    var wait = X.h("p", { className: "vaex-note", text: X.L(T.loading) });
    el.appendChild(wait);
    return Promise.all([X.loadArrays(base, "latent2d_prior"), X.loadArrays(base, "latent2d"), X.loadArrays(base, "latent2d_codes")]).then(function (loaded) {
      el.removeChild(wait);
      var prior = makePrior(loaded[0]), vae = loaded[1], codes = loaded[2], api = {};
      var D = prior.D, TT = prior.T;
      var st = { t: TT, digit: null, w: 2, seed: 0, playing: false };
      var path = [], noise = [], front = TT, version = 0, drawn = "", lastTick = 0, pending = false, waiters = [];
      var next = null, nextDone = 0, stepMs = 0;  // z_{front-1} being computed, CHUNK points at a time
      var current = null;

      function newDraws() {
        var r = X.rng(SEED + st.seed), zT = new Float64Array(N * D), s, k;
        for (k = 0; k < N * D; k++) zT[k] = r.normal();
        noise = [];
        for (s = TT; s >= 2; s--) { var nz = new Float64Array(N * D); for (k = 0; k < N * D; k++) nz[k] = r.normal(); noise[s] = nz; }
        path = []; path[TT] = zT;
      }
      function restart() { front = TT; path.length = TT + 1; next = null; version += 1; schedule(); }
      /** CHUNK more points of the reverse step front -> front - 1; true when the step is complete. */
      function advance() {
        var t0 = performance.now();
        if (!next) { next = new Float64Array(N * D); nextDone = 0; stepMs = 0; }
        var a = nextDone * D, b = Math.min(N, nextDone + CHUNK) * D;
        prior.step(path[front].subarray(a, b), (b - a) / D, front, st.digit, st.w,
          front > 1 ? noise[front].subarray(a, b) : null, next.subarray(a, b));
        nextDone = b / D;
        stepMs += performance.now() - t0;
        if (nextDone < N) return false;
        path[front - 1] = next; next = null; front -= 1;
        var rec = (api.timing = api.timing || {}).step || { last: 0, max: 0, count: 0 };  // one whole step, N points
        rec.last = stepMs; rec.max = Math.max(rec.max, stepMs); rec.count += 1;
        api.timing.step = rec;
        return true;
      }

      var P = X.plane(codes, 360, T.plane);
      var strip = X.canvas(4 * CELL, 2 * (CELL + 16), { role: "img", "aria-label": X.L(T.strip) });
      var stripBox = X.h("div", { className: "vaex-strip" }, [X.h("p", { className: "vaex-caption", text: X.L(T.strip) }), strip.canvas]);
      var readout = X.h("div", { className: "vaex-readout", "aria-live": "polite" });
      var playBtn = X.button(T.start, function () { if (st.playing) pause(); else play(); }, { "aria-pressed": "false" });
      var drawBtn = X.button(T.redraw, function () { st.seed += 1; newDraws(); restart(); });
      var sT = X.slider({ label: T.time, min: 0, max: TT, step: 1, value: 0, format: function (v) { return "t = " + (TT - v); },
        onInput: function (v) { st.t = TT - v; if (st.playing) pause(); schedule(true); } });
      var sW = X.slider({ label: T.scale, min: 0, max: 4, step: 0.25, value: st.w, format: function (v) { return "w = " + X.fmt(v, 2); },
        onInput: function (v) { st.w = v; if (st.digit !== null) restart(); } });
      var selId = "vaex-ld-digit", select = X.h("select", { id: selId, className: "vaex-select" });
      select.appendChild(X.h("option", { value: "", text: X.L(T.none) }));
      for (var d = 0; d < 10; d++) select.appendChild(X.h("option", { value: String(d), text: String(d) }));
      var digitOut = X.h("output", { "for": selId, className: "vaex-value" });
      select.addEventListener("change", function () { setDigit(select.value === "" ? null : Number(select.value)); });
      var digitRow = X.h("div", { className: "vaex-control" }, [X.h("label", { "for": selId, text: X.L(T.digit) }), select, digitOut]);
      function setDigit(v) {
        st.digit = v;
        select.value = v === null ? "" : String(v);
        digitOut.textContent = v === null ? "—" : String(v);
        sW.input.disabled = v === null;
        restart();
      }

      el.appendChild(X.h("div", { className: "vaex-row" }, [P.canvas, stripBox]));
      el.appendChild(X.h("div", { className: "vaex-buttons" }, [playBtn, drawBtn]));
      el.appendChild(X.h("div", { className: "vaex-controls" }, [sT.row, digitRow, sW.row]));
      el.appendChild(readout);

      /** Mean and standard deviation (divisor N) of the points z along each axis. */
      function moments(z) {
        var mean = [0, 0], sd = [0, 0], p, k;
        for (p = 0; p < N; p++) for (k = 0; k < 2; k++) mean[k] += z[p * D + k] / N;
        for (p = 0; p < N; p++) for (k = 0; k < 2; k++) sd[k] += (z[p * D + k] - mean[k]) * (z[p * D + k] - mean[k]) / N;
        return { mean: mean, sd: sd.map(Math.sqrt) };
      }
      function render() {
        var shownT = Math.max(st.t, front), z = path[shownT], ctx = P.ctx, p, s;
        P.draw();
        ctx.lineWidth = 0.8; ctx.strokeStyle = "rgba(40, 40, 40, 0.3)";
        for (p = 0; p < SHOWN; p++) {  // the numbered points' paths from z_T
          ctx.beginPath(); ctx.moveTo(P.px(path[TT][p * D]), P.py(path[TT][p * D + 1]));
          for (s = TT - 1; s >= shownT; s--) ctx.lineTo(P.px(path[s][p * D]), P.py(path[s][p * D + 1]));
          ctx.stroke();
        }
        ctx.fillStyle = "rgba(17, 17, 17, 0.85)"; ctx.strokeStyle = "#fff"; ctx.lineWidth = 0.8;
        for (p = SHOWN; p < N; p++) {
          ctx.beginPath(); ctx.arc(P.px(z[p * D]), P.py(z[p * D + 1]), 2.4, 0, 2 * Math.PI); ctx.fill(); ctx.stroke();
        }
        var zs = [];
        ctx.font = "bold 10px sans-serif"; ctx.textAlign = "center"; ctx.textBaseline = "middle";
        for (p = 0; p < SHOWN; p++) {
          var x = P.px(z[p * D]), y = P.py(z[p * D + 1]);
          ctx.beginPath(); ctx.arc(x, y, 7, 0, 2 * Math.PI); ctx.fillStyle = "#fff"; ctx.fill();
          ctx.strokeStyle = "#111"; ctx.lineWidth = 1.5; ctx.stroke();
          ctx.fillStyle = "#111"; ctx.fillText(String(p + 1), x, y + 0.5);
          zs.push([z[p * D], z[p * D + 1]]);
        }
        ctx.textAlign = "start"; ctx.textBaseline = "alphabetic";
        var means = X.decodeBatch(vae, zs).map(X.sigmoid);
        var sc = strip.ctx;
        sc.fillStyle = "#fff"; sc.fillRect(0, 0, strip.w, strip.h);
        sc.font = "11px sans-serif"; sc.fillStyle = "#333";
        means.forEach(function (m, k) {
          var cx = (k % 4) * CELL, cy = Math.floor(k / 4) * (CELL + 16);
          sc.fillStyle = "#333"; sc.fillText(String(k + 1), cx + 4, cy + 11);
          X.drawDigit(sc, m, cx + 2, cy + 14, CELL - 4);
        });
        var mom = moments(z), pair = function (v) { return "(" + X.fmt(v[0], 2) + ", " + X.fmt(v[1], 2) + ")"; };
        var guide = st.digit === null ? X.L(T.unguided) : X.L(T.guidedTo) + st.digit + ", w = " + X.fmt(st.w, 2);
        var head = shownT === st.t ? "t = " + st.t + " / " + TT : X.L(T.computing) + shownT + " (→ " + st.t + ")";
        readout.textContent = head + "   " + guide + "\n" + X.L(T.spread) + pair(mom.mean) + X.L(T.sd) + pair(mom.sd);
        current = { t: st.t, shownT: shownT, z: z, means: means, moments: mom };
        drawn = shownT + ":" + version;
      }

      /** One animation frame: chunks of reverse steps (about FRAME_MS of work), the play tick, a repaint. */
      function frame(now) {
        pending = false;
        var work = front > 0, tick = st.playing && now - lastTick >= TICK_MS && front < st.t;
        var forced = redrawAsked;
        redrawAsked = false;
        if (work || tick || forced || drawn !== Math.max(st.t, front) + ":" + version) {
          X.timed(api, "update", function () {
            var t0 = performance.now(), did = false;
            while (front > 0 && (!did || performance.now() - t0 < FRAME_MS)) { advance(); did = true; }
            if (tick) {
              st.t -= 1; lastTick = now;
              sT.set(TT - st.t, true);
              if (st.t === 0) pause(true);
            }
            if (forced || drawn !== Math.max(st.t, front) + ":" + version) render();
          });
        }
        if (front > 0 || st.playing) schedule();
        else if (waiters.length) { var ws = waiters; waiters = []; ws.forEach(function (f) { f(); }); }
      }
      var redrawAsked = false;
      function schedule(redraw) {
        if (redraw) redrawAsked = true;
        if (!pending) { pending = true; requestAnimationFrame(frame); }
      }
      function play() {
        if (st.t === 0) { st.t = TT; sT.set(0, true); }
        st.playing = true; lastTick = 0;
        playBtn.textContent = X.L(T.pause); playBtn.setAttribute("aria-pressed", "true");
        schedule();
      }
      function pause() {
        st.playing = false;
        playBtn.textContent = X.L(T.start); playBtn.setAttribute("aria-pressed", "false");
      }

      // ------------------------------------------------------------------ test hook
      var nested = function (arr, n) { var out = []; for (var p = 0; p < n; p++) out.push(Array.prototype.slice.call(arr, p * D, p * D + D)); return out; };
      var flat = function (rows) { var out = new Float64Array(rows.length * D); rows.forEach(function (r, p) { for (var k = 0; k < D; k++) out[p * D + k] = r[k]; }); return out; };
      api.constants = { N: N, T: TT, shown: SHOWN, nClasses: prior.C, betas: prior.betas.slice() };
      /** eps for rows z [n][D], steps t [n], labels y [n] (null or nClasses: no label); with w (and a digit
       *  per row) the guided eps. */
      api.epsilon = function (inp) {
        return inp.z.map(function (row, p) {
          var y = inp.y ? inp.y[p] : null, out = new Float64Array(D);
          if (inp.w !== undefined && inp.w !== null) prior.guided(flat([row]), 1, inp.t[p], y === prior.C ? null : y, inp.w, out);
          else prior.eps(flat([row]), 1, inp.t[p], y === null || y === undefined ? prior.C : y, out);
          return Array.from(out);
        });
      };
      /** The page's draws: z_T [N][D] and the noise [n_T, ..., n_2] (each [N][D]), sample's order. */
      api.draws = function () {
        var ns = [];
        for (var s = TT; s >= 2; s--) ns.push(nested(noise[s], N));
        return { zT: nested(path[TT], N), noise: ns };
      };
      /** A whole chain from given zT [n][D] and noise [n_T..n_2] with a digit (or null) and w: [T + 1][n][D], row t = z_t. */
      api.chain = function (inp) {
        var n = inp.zT.length, z = flat(inp.zT), rows = [];
        rows[TT] = nested(z, n);
        for (var s = TT; s >= 1; s--) {
          var nz = s > 1 ? flat(inp.noise[TT - s]) : null;
          z = prior.step(z, n, s, inp.digit === undefined ? null : inp.digit, inp.w === undefined ? 1 : inp.w, nz, new Float64Array(n * D));
          rows[s - 1] = nested(z, n);
        }
        return rows;
      };
      /** The stored chain of the page (complete once settled): [T + 1][N][D], row t = z_t. */
      api.path = function () { return path.map(function (z) { return nested(z, N); }); };
      api.state = function () {
        var c = current;
        return { t: st.t, shownT: c.shownT, front: front, complete: front === 0, digit: st.digit, w: st.w, seed: st.seed,
          playing: st.playing, points: nested(c.z, N), shown: SHOWN, decoded: c.means.map(function (m) { return Array.from(m); }),
          mean: c.moments.mean, sd: c.moments.sd, text: readout.textContent, play: playBtn.textContent };
      };
      api.setDigit = function (v) { setDigit(v); return st.digit; };
      api.setScale = function (w) { sW.set(w); return st.w; };
      api.setT = function (t) { sT.set(TT - t); return st.t; };
      api.play = function () { play(); return st.playing; };
      api.pause = function () { pause(); return st.playing; };
      /** Resolves once the chain is complete and nothing is playing (the view is then up to date). */
      api.settled = function () {
        return new Promise(function (resolve) {
          if (front === 0 && !st.playing && drawn === st.t + ":" + version) resolve(api.state());
          else { waiters.push(function () { resolve(api.state()); }); schedule(true); }
        });
      };

      newDraws();
      setDigit(null);
      render();
      return api;
    });
  });
})();
