/* Draw a digit (chapter 09). The reader draws on a 28x28 grid; the page binarizes the drawing
 * (a pixel is 1 where the ink is above 1/2), runs the encoders of the 2-D VAE and of the
 * flagship (vae_lib.load_flagship(), shipped here with float16 weight matrices) and shows
 *   - q(z|x) = N(mu, diag exp(logvar)) of the 2-D model as 1-sigma and 2-sigma ellipses among
 *     the codes of real test digits, and reconstructions E[x|z] for four draws z ~ q(z|x);
 *   - the drawing's ELBO and IWAE_k in nats under both models, from the same k draws
 *     z_i = mu + sigma * eps_i: ELBO = (1/k) sum_i log w_i, IWAE_k = log (1/k) sum_i w_i with
 *     w_i = p(x, z_i) / q(z_i|x), as vae_lib.objectives.iwae_terms (see VAEX.bounds in core.js);
 *   - reconstructions by the flagship (once its file has arrived), which gives back the drawn digit,
 *     above those of the 2-D model, which can only return the typical digit of its place in the
 *     plane, and a line saying what to expect. An empty pad shows no bounds.
 */
(function () {
  "use strict";
  var KS = [1, 2, 5, 10, 20, 50, 100];
  var SHOWN = 4;

  window.vaeExplorables._register("draw-digit", function (el, X, base) {
    var T = {
      title: { en: "Explore: draw a digit", ko: "직접 해 보기: 숫자 그리기" },
      note: { en: "Draw with the mouse or a finger (or load a test digit). The drawing is binarized and encoded; the ellipses are q(z|x) of the 2-D model (1σ and 2σ) among the codes of real test digits; the inset zooms in around μ.",
        ko: "마우스나 손가락으로 숫자를 그려 보십시오(테스트 숫자를 불러와도 됩니다). 그림은 이진화한 뒤 인코더에 들어갑니다. 타원은 2차원 모델의 q(z|x)(1σ, 2σ)이고, 점들은 실제 테스트 숫자의 코드입니다. 오른쪽 위 작은 창은 μ 주변을 확대한 것입니다." },
      loading: { en: "loading the models…", ko: "모델을 불러오는 중…" },
      pad: { en: "Drawing area, 28 by 28 pixels: draw with the mouse or by touch", ko: "28×28 픽셀 그림판: 마우스나 터치로 그립니다" },
      plane: { en: "Latent plane of the 2-D model with q(z|x) of the drawing", ko: "그림의 q(z|x)를 표시한 2차원 모델의 잠재 평면" },
      recon: { en: "reconstructions E[x|z] for four draws z ~ q(z|x) (2-D model)", ko: "z ~ q(z|x) 네 번 추출해 복원한 이미지 E[x|z] (2차원 모델)" },
      reconFlag: { en: "reconstructions E[x|z] for four draws z ~ q(z|x) (flagship, 50-D)", ko: "z ~ q(z|x) 네 번 추출해 복원한 이미지 E[x|z] (플래그십, 50차원)" },
      expect: { en: "What to expect: the flagship keeps 50 numbers per image and gives back the digit you drew, sharp if it looks like a handwritten MNIST digit (centred, thick strokes). The 2-D model keeps only two numbers: it returns the typical digit of the place in the plane where your drawing lands, often a blurry 3, 5 or 8. A drawing unlike any digit gets a much lower ELBO (more negative) under both models.",
        ko: "무엇을 기대할까: 플래그십은 이미지마다 수 50개를 간직하므로 그린 숫자를 그대로 돌려줍니다. MNIST 손글씨처럼 가운데에 굵게 그릴수록 선명합니다. 2차원 모델은 수 두 개만 간직하므로, 그림이 떨어진 평면 위 자리의 전형적인 숫자를 돌려줍니다. 흔히 흐릿한 3, 5, 8입니다. 어떤 숫자와도 닮지 않은 그림은 두 모델 모두에서 ELBO가 훨씬 낮습니다(더 음수)." },
      empty: { en: "Draw a digit (or load a test digit): the bounds appear here.", ko: "숫자를 그리거나 테스트 숫자를 불러오면 여기에 하한이 나타납니다." },
      mu2d: { en: "μ (2-D)", ko: "μ (2차원)" },
      clear: { en: "clear", ko: "지우기" }, example: { en: "load a test digit", ko: "테스트 숫자 불러오기" },
      noise: { en: "new draws of z", ko: "z 새로 추출" },
      k: { en: "importance samples k", ko: "중요도 표본 수 k" },
      model: { en: "model", ko: "모델" }, m2d: { en: "2-D VAE", ko: "2차원 VAE" }, mflag: { en: "flagship (50-D)", ko: "플래그십 (50차원)" },
      nats: { en: "nats", ko: "nats" },
      flagwait: { en: "(loading)", ko: "(불러오는 중)" },
      here: { en: "draw a digit here", ko: "여기에 숫자를 그리십시오" },
    };
    X.frame(el, T.title, T.note);
    var wait = X.h("p", { className: "vaex-note", text: X.L(T.loading) });
    el.appendChild(wait);
    var flagship = null;
    var flagshipLoad = X.loadArrays(base, "flagship").then(function (m) { flagship = m; return m; });
    return Promise.all([X.loadArrays(base, "latent2d"), X.loadArrays(base, "latent2d_codes")]).then(function (loaded) {
      el.removeChild(wait);
      var model = loaded[0], codes = loaded[1], api = {};
      var ink = new Float64Array(784), x = new Float64Array(784), seed = 1, exampleIndex = -1;
      var pad = X.canvas(224, 224, { role: "img", "aria-label": X.L(T.pad) });
      var P = X.plane(codes, 300, T.plane);
      var rec = X.canvas(4 * 76, 76, { role: "img", "aria-label": X.L(T.recon) });
      var recF = X.canvas(4 * 76, 76, { role: "img", "aria-label": X.L(T.reconFlag) });
      var capF = X.h("p", { className: "vaex-caption", text: X.L(T.reconFlag) });
      var emptyNote = X.h("p", { className: "vaex-note vaex-empty", text: X.L(T.empty) });
      var table = X.h("table", { className: "vaex-table" });
      var sK = X.slider({ label: T.k, min: 0, max: KS.length - 1, step: 1, value: 3, format: function (v) { return "k = " + KS[v]; }, onInput: function () { compute(); } });
      var buttons = X.h("div", { className: "vaex-buttons" }, [
        X.button(T.clear, function () { ink.fill(0); exampleIndex = -1; compute(); }),
        X.button(T.example, function () { exampleIndex = (exampleIndex + 1) % 10; var ex = codes.t.examples; for (var i = 0; i < 784; i++) ink[i] = ex[exampleIndex * 784 + i]; compute(); }),
        X.button(T.noise, function () { seed += 1; compute(); }),
      ]);
      el.appendChild(X.h("div", { className: "vaex-row" }, [pad.canvas, P.canvas]));
      el.appendChild(buttons);
      el.appendChild(capF);
      el.appendChild(recF.canvas);
      el.appendChild(X.h("p", { className: "vaex-caption", text: X.L(T.recon) }));
      el.appendChild(rec.canvas);
      el.appendChild(X.h("p", { className: "vaex-note vaex-expect", text: X.L(T.expect) }));
      el.appendChild(X.h("div", { className: "vaex-controls" }, [sK.row]));
      el.appendChild(emptyNote);
      el.appendChild(table);
      pad.canvas.style.touchAction = "none";

      function noise(k, dim, s) { var g = X.rng(s), e = []; for (var j = 0; j < k; j++) { var v = []; for (var i = 0; i < dim; i++) v.push(g.normal()); e.push(v); } return e; }
      function evaluate(xv, k, eps2, epsF) {
        var r2 = X.bounds(model, xv, eps2);
        var recons = r2.z.slice(0, SHOWN).map(function (z) { return Array.from(X.sigmoid(X.decode(model, z))); });
        var rf = flagship ? X.bounds(flagship, xv, epsF) : null;
        var reconsF = rf ? rf.z.slice(0, SHOWN).map(function (z) { return Array.from(X.sigmoid(X.decode(flagship, z))); }) : null;
        if (rf) delete rf.z;
        return { latent2d: r2, flagship: rf, recon: recons, reconFlagship: reconsF, k: k };
      }
      function drawPad() {
        var ctx = pad.ctx;
        ctx.fillStyle = "#fff"; ctx.fillRect(0, 0, 224, 224);
        for (var i = 0; i < 784; i++) {
          if (ink[i] > 0.02) { var g = x[i] ? 0 : Math.round(255 * (1 - 0.35 * ink[i])); ctx.fillStyle = "rgb(" + g + "," + g + "," + g + ")"; ctx.fillRect((i % 28) * 8, Math.floor(i / 28) * 8, 8, 8); }
        }
        ctx.strokeStyle = "#bbb"; ctx.strokeRect(0.5, 0.5, 223, 223);
        if (!ink.some(function (v) { return v > 0; })) {
          ctx.fillStyle = "#999"; ctx.font = "14px sans-serif"; ctx.textAlign = "center";
          ctx.fillText(X.L(T.here), 112, 116); ctx.textAlign = "left";
        }
      }
      function drawPlane(r) {
        P.draw();
        if (!drawn()) return;
        var ctx = P.ctx, s = [Math.exp(0.5 * r.logvar[0]), Math.exp(0.5 * r.logvar[1])];
        [1, 2].forEach(function (rad) {
          ctx.beginPath();
          ctx.ellipse(P.px(r.mu[0]), P.py(r.mu[1]), Math.max(1, rad * s[0] / (2 * P.lim) * P.size), Math.max(1, rad * s[1] / (2 * P.lim) * P.size), 0, 0, 2 * Math.PI);
          ctx.strokeStyle = "#000"; ctx.lineWidth = rad === 1 ? 2.5 : 1.5; ctx.setLineDash(rad === 1 ? [] : [5, 3]); ctx.stroke(); ctx.setLineDash([]);
        });
        if (!drawn()) return;  // an empty pad: the plane of test codes only
        r.z.slice(0, SHOWN).forEach(function (z) { ctx.beginPath(); ctx.arc(P.px(z[0]), P.py(z[1]), 3, 0, 2 * Math.PI); ctx.fillStyle = "#000"; ctx.fill(); });
        inset(ctx, r, s);
      }
      // the ellipses are often a few pixels wide on the plane: a zoomed inset around mu shows them
      function inset(ctx, r, s) {
        var size = 110, x0 = P.size - size - 4, y0 = 4, half = Math.max(2.6 * Math.max(s[0], s[1]), 0.05);
        var ix = function (z) { return x0 + (z - r.mu[0] + half) / (2 * half) * size; };
        var iy = function (z) { return y0 + (r.mu[1] + half - z) / (2 * half) * size; };
        ctx.save();
        ctx.fillStyle = "#fff"; ctx.fillRect(x0, y0, size, size);
        ctx.beginPath(); ctx.rect(x0, y0, size, size); ctx.clip();
        var q = codes.header.meta.quantization, cz = codes.t.codes, lab = codes.t.labels;
        for (var i = 0; i < codes.header.meta.n; i++) {
          var z1 = q.min[0] + q.step[0] * cz[2 * i], z2 = q.min[1] + q.step[1] * cz[2 * i + 1];
          if (Math.abs(z1 - r.mu[0]) < half && Math.abs(z2 - r.mu[1]) < half) { ctx.fillStyle = X.TAB10[lab[i]]; ctx.fillRect(ix(z1) - 2, iy(z2) - 2, 4, 4); }
        }
        [1, 2].forEach(function (rad) {
          ctx.beginPath();
          ctx.ellipse(ix(r.mu[0]), iy(r.mu[1]), rad * s[0] / (2 * half) * size, rad * s[1] / (2 * half) * size, 0, 0, 2 * Math.PI);
          ctx.strokeStyle = "#000"; ctx.lineWidth = rad === 1 ? 2 : 1.2; ctx.setLineDash(rad === 1 ? [] : [4, 3]); ctx.stroke(); ctx.setLineDash([]);
        });
        r.z.slice(0, SHOWN).forEach(function (z) { ctx.beginPath(); ctx.arc(ix(z[0]), iy(z[1]), 2.5, 0, 2 * Math.PI); ctx.fillStyle = "#000"; ctx.fill(); });
        ctx.restore();
        ctx.strokeStyle = "#555"; ctx.lineWidth = 1; ctx.strokeRect(x0 + 0.5, y0 + 0.5, size - 1, size - 1);
        ctx.fillStyle = "#333"; ctx.font = "11px sans-serif"; ctx.textAlign = "left";
        ctx.fillText("±" + X.fmt(half, 2), x0 + 4, y0 + size - 5);
      }
      function row(cells, head) { return X.h("tr", {}, cells.map(function (c) { return X.h(head ? "th" : "td", { text: c }); })); }
      var current = null;
      function drawn() { for (var i = 0; i < 784; i++) if (x[i]) return true; return false; }
      function compute() {
        var k = KS[sK.value()];
        X.timed(api, "update", function () {
          for (var i = 0; i < 784; i++) x[i] = ink[i] > 0.5 ? 1 : 0;
          current = evaluate(x, k, noise(k, 2, 2 * seed + 1), noise(k, 50, 2 * seed + 2));
          drawPad();
          drawPlane(current.latent2d);
          var any = drawn();
          [rec, recF].forEach(function (c) { c.ctx.fillStyle = "#fff"; c.ctx.fillRect(0, 0, 4 * 76, 76); });
          if (any) current.recon.forEach(function (m, j) { X.drawDigit(rec.ctx, m, 2 + 76 * j, 2, 72); });
          if (any && current.reconFlagship) current.reconFlagship.forEach(function (m, j) { X.drawDigit(recF.ctx, m, 2 + 76 * j, 2, 72); });
          // an empty pad shows no numbers: the bounds of a blank image say nothing about a drawing
          emptyNote.style.display = any ? "none" : "";
          table.style.display = any ? "" : "none";
          var r2 = current.latent2d, rf = current.flagship, f = function (v) { return X.fmt(v, 2); };
          table.textContent = "";
          if (!any) return;
          table.appendChild(row([X.L(T.model), "ELBO (" + X.L(T.nats) + ")", "IWAE_" + k + " (" + X.L(T.nats) + ")", X.L(T.mu2d)], true));
          table.appendChild(row([X.L(T.m2d), f(r2.elbo), f(r2.iwae), "(" + f(r2.mu[0]) + ", " + f(r2.mu[1]) + ")"]));
          table.appendChild(row([X.L(T.mflag), rf ? f(rf.elbo) : X.L(T.flagwait), rf ? f(rf.iwae) : X.L(T.flagwait), ""]));
        });
      }
      // drawing: a round brush of radius ~1.5 pixels on the 28x28 grid, strokes interpolated
      var last = null, drawing = false, pending = false;
      function paint(cx, cy) {
        for (var yy = Math.max(0, Math.floor(cy - 2)); yy <= Math.min(27, Math.ceil(cy + 2)); yy++) {
          for (var xx = Math.max(0, Math.floor(cx - 2)); xx <= Math.min(27, Math.ceil(cx + 2)); xx++) {
            var dist = Math.hypot(xx + 0.5 - cx, yy + 0.5 - cy), v = Math.max(0, Math.min(1, 1.6 - dist));
            if (v > ink[yy * 28 + xx]) ink[yy * 28 + xx] = v;
          }
        }
      }
      function strokeTo(p) {
        var c = [p[0] / 8, p[1] / 8];
        if (last) { var n = Math.ceil(Math.hypot(c[0] - last[0], c[1] - last[1]) / 0.25); for (var i = 1; i <= n; i++) paint(last[0] + (c[0] - last[0]) * i / n, last[1] + (c[1] - last[1]) * i / n); }
        else paint(c[0], c[1]);
        last = c;
        if (!pending) { pending = true; requestAnimationFrame(function () { pending = false; compute(); }); }
      }
      pad.canvas.addEventListener("pointerdown", function (ev) { drawing = true; last = null; exampleIndex = -1; pad.canvas.setPointerCapture(ev.pointerId); strokeTo(X.pointer(ev, pad.canvas, 224)); ev.preventDefault(); });
      pad.canvas.addEventListener("pointermove", function (ev) { if (drawing) strokeTo(X.pointer(ev, pad.canvas, 224)); });
      var end = function () { drawing = false; last = null; };
      pad.canvas.addEventListener("pointerup", end);
      pad.canvas.addEventListener("pointercancel", end);
      flagshipLoad.then(function () { compute(); });

      api.compute = function (inp) { return evaluate(Float64Array.from(inp.x), inp.eps2d.length, inp.eps2d, inp.epsFlagship); };
      api.state = function () { return Object.assign({ x: Array.from(x), text: table.textContent, flagshipLoaded: !!flagship }, current); };
      api.ready = flagshipLoad.then(function () { return true; });
      api.setK = function (k) { sK.set(KS.indexOf(k)); return api.state(); };
      api.ks = KS;
      compute();
      return api;
    });
  });
})();
