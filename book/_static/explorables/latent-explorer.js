/* Latent-space explorer (chapter 08): the shipped 2-D VAE (vae_lib/results/latent2d_mnist.pt,
 * exported by vae_lib/export.py) decodes the point the reader moves over the latent plane.
 * The dots are the encoder means of the first 3000 test images, coloured by digit. The image
 * shown is the decoder's Bernoulli mean sigmoid(logits(z)), i.e. E[x|z].
 * Line mode decodes z_t = (1 - t) z_A + t z_B for t = 0, 1/9, ..., 1.
 */
(function () {
  "use strict";
  var STEPS = 10;
  window.vaeExplorables._register("latent-explorer", function (el, X, base) {
    var T = {
      title: { en: "Explore: the latent space of a 2-D VAE", ko: "직접 해 보기: 2차원 VAE의 잠재 공간" },
      note: { en: "Drag the point over the latent plane (or use the sliders and arrow keys); the decoder's Bernoulli mean follows. Dots: the codes of 3000 test images, coloured by digit.",
        ko: "잠재 평면 위의 점을 끌어 보십시오(슬라이더나 화살표 키도 됩니다). 디코더의 베르누이 평균 이미지가 따라 바뀝니다. 점들은 테스트 이미지 3000장의 코드이고, 색은 숫자입니다." },
      loading: { en: "loading the model…", ko: "모델을 불러오는 중…" },
      mode: { en: "mode", ko: "모드" }, point: { en: "one point", ko: "한 점" }, line: { en: "straight line A → B", ko: "직선 A → B" },
      z1: { en: "z₁ of the point", ko: "점의 z₁" }, z2: { en: "z₂ of the point", ko: "점의 z₂" },
      a1: { en: "z₁ of A", ko: "A의 z₁" }, a2: { en: "z₂ of A", ko: "A의 z₂" },
      b1: { en: "z₁ of B", ko: "B의 z₁" }, b2: { en: "z₂ of B", ko: "B의 z₂" },
      plane: { en: "Latent plane with the codes of test images; arrow keys move the point", ko: "테스트 이미지 코드가 있는 잠재 평면. 화살표 키로 점을 움직입니다" },
      decoded: { en: "decoded image E[x|z]", ko: "디코딩한 이미지 E[x|z]" },
      strip: { en: "images decoded along the line from A to B", ko: "A에서 B까지 직선을 따라 디코딩한 이미지" },
    };
    X.frame(el, T.title, T.note);
    var wait = X.h("p", { className: "vaex-note", text: X.L(T.loading) });
    el.appendChild(wait);
    return Promise.all([X.loadArrays(base, "latent2d"), X.loadArrays(base, "latent2d_codes")]).then(function (loaded) {
      el.removeChild(wait);
      var model = loaded[0], codes = loaded[1], api = {};
      var P = X.plane(codes, 360, T.plane);
      var out = X.canvas(180, 180, { role: "img", "aria-label": X.L(T.decoded) });
      var strip = X.canvas(560, 62, { role: "img", "aria-label": X.L(T.strip) });
      var readout = X.h("div", { className: "vaex-readout", "aria-live": "polite" });
      var st = { mode: "point", z: [0, 0], a: [-2, 0.5], b: [2, -0.5], active: "z" };
      var f2 = function (v) { return X.fmt(v, 2); };
      var mk = function (label, key, idx) {
        return X.slider({ label: label, min: -P.lim, max: P.lim, step: 0.01, value: st[key][idx], format: f2,
          onInput: function (v) { st[key][idx] = v; st.active = key; update(); } });
      };
      var sl = { z: [mk(T.z1, "z", 0), mk(T.z2, "z", 1)], a: [mk(T.a1, "a", 0), mk(T.a2, "a", 1)], b: [mk(T.b1, "b", 0), mk(T.b2, "b", 1)] };
      var pointRows = X.h("div", { className: "vaex-controls" }, [sl.z[0].row, sl.z[1].row]);
      var lineRows = X.h("div", { className: "vaex-controls", hidden: true }, [sl.a[0].row, sl.a[1].row, sl.b[0].row, sl.b[1].row]);
      var mode = X.radios(T.mode, [{ value: "point", label: T.point }, { value: "line", label: T.line }], "point", function (v) {
        st.mode = v; st.active = v === "point" ? "z" : "a";
        pointRows.hidden = v !== "point"; lineRows.hidden = v === "point"; out.canvas.hidden = v !== "point"; strip.canvas.hidden = v === "point";
        update();
      });
      strip.canvas.hidden = true;
      el.appendChild(mode.node);
      el.appendChild(X.h("div", { className: "vaex-row" }, [P.canvas, out.canvas]));
      el.appendChild(strip.canvas);
      el.appendChild(pointRows);
      el.appendChild(lineRows);
      el.appendChild(readout);

      function meanAt(z) { return X.sigmoid(X.decode(model, z)); }
      function line(a, b, steps) {
        var zs = [], means = [];
        for (var i = 0; i < steps; i++) {
          var t = steps === 1 ? 0 : i / (steps - 1), z = [(1 - t) * a[0] + t * b[0], (1 - t) * a[1] + t * b[1]];
          zs.push(z); means.push(meanAt(z));
        }
        return { z: zs, means: means };
      }
      function handle(z, color, label) {
        var ctx = P.ctx, x = P.px(z[0]), y = P.py(z[1]);
        ctx.beginPath(); ctx.arc(x, y, 7, 0, 2 * Math.PI); ctx.fillStyle = color; ctx.fill();
        ctx.lineWidth = 2; ctx.strokeStyle = "#fff"; ctx.stroke(); ctx.strokeStyle = "#000"; ctx.lineWidth = 1; ctx.stroke();
        if (label) { ctx.fillStyle = "#000"; ctx.font = "bold 13px sans-serif"; ctx.fillText(label, x + 9, y - 8); }
      }
      var current = null;
      function update() {
        X.timed(api, "update", function () {
          P.draw();
          if (st.mode === "point") {
            var m = meanAt(st.z);
            out.ctx.fillStyle = "#fff"; out.ctx.fillRect(0, 0, 180, 180);
            X.drawDigit(out.ctx, m, 6, 6, 168);
            handle(st.z, "#111", null);
            current = { mode: "point", z: st.z.slice(), mean: m };
            readout.textContent = "z = (" + f2(st.z[0]) + ", " + f2(st.z[1]) + ")";
          } else {
            var res = line(st.a, st.b, STEPS), ctx = P.ctx;
            ctx.strokeStyle = "#111"; ctx.lineWidth = 2; ctx.beginPath();
            ctx.moveTo(P.px(st.a[0]), P.py(st.a[1])); ctx.lineTo(P.px(st.b[0]), P.py(st.b[1])); ctx.stroke();
            res.z.forEach(function (z) { ctx.beginPath(); ctx.arc(P.px(z[0]), P.py(z[1]), 2.5, 0, 2 * Math.PI); ctx.fillStyle = "#111"; ctx.fill(); });
            handle(st.a, "#111", "A"); handle(st.b, "#555", "B");
            strip.ctx.fillStyle = "#fff"; strip.ctx.fillRect(0, 0, 560, 62);
            res.means.forEach(function (m, i) { X.drawDigit(strip.ctx, m, 3 + i * 55.5, 3, 54); });
            current = { mode: "line", a: st.a.slice(), b: st.b.slice(), z: res.z, means: res.means };
            readout.textContent = "A = (" + f2(st.a[0]) + ", " + f2(st.a[1]) + ")  →  B = (" + f2(st.b[0]) + ", " + f2(st.b[1]) + ")";
          }
        });
      }
      function moveTo(key, z) {
        st[key] = [Math.max(-P.lim, Math.min(P.lim, z[0])), Math.max(-P.lim, Math.min(P.lim, z[1]))];
        sl[key][0].set(st[key][0], true); sl[key][1].set(st[key][1], true);
        st.active = key;
        update();
      }
      var dragging = null;
      P.canvas.addEventListener("pointerdown", function (ev) {
        var p = X.pointer(ev, P.canvas, P.size), z = [P.zx(p[0]), P.zy(p[1])];
        if (st.mode === "point") dragging = "z";
        else {
          var da = Math.hypot(z[0] - st.a[0], z[1] - st.a[1]), db = Math.hypot(z[0] - st.b[0], z[1] - st.b[1]);
          dragging = da <= db ? "a" : "b";
        }
        P.canvas.setPointerCapture(ev.pointerId);
        moveTo(dragging, z);
        ev.preventDefault();
      });
      P.canvas.addEventListener("pointermove", function (ev) {
        if (!dragging) return;
        var p = X.pointer(ev, P.canvas, P.size);
        moveTo(dragging, [P.zx(p[0]), P.zy(p[1])]);
      });
      var end = function () { dragging = null; };
      P.canvas.addEventListener("pointerup", end);
      P.canvas.addEventListener("pointercancel", end);
      P.canvas.addEventListener("keydown", function (ev) {
        var d = ev.shiftKey ? 0.5 : 0.1, key = st.mode === "point" ? "z" : st.active === "z" ? "a" : st.active, z = st[key].slice();
        if (ev.key === "ArrowLeft") z[0] -= d; else if (ev.key === "ArrowRight") z[0] += d;
        else if (ev.key === "ArrowUp") z[1] += d; else if (ev.key === "ArrowDown") z[1] -= d;
        else if ((ev.key === "a" || ev.key === "b") && st.mode === "line") { st.active = ev.key; return; }
        else return;
        ev.preventDefault();
        moveTo(key, z);
      });
      P.canvas.style.touchAction = "none";

      api.compute = function (inp) {
        if (inp.a) { var r = line(inp.a, inp.b, inp.steps || STEPS); return { z: r.z, means: r.means.map(function (m) { return Array.from(m); }) }; }
        return { mean: Array.from(meanAt(inp.z)) };
      };
      api.state = function () {
        var c = current;
        return c.mode === "point" ? { mode: "point", z: c.z, mean: Array.from(c.mean), text: readout.textContent }
          : { mode: "line", a: c.a, b: c.b, z: c.z, means: c.means.map(function (m) { return Array.from(m); }), text: readout.textContent };
      };
      api.setMode = function (v) { mode.set(v); return api.state(); };
      update();
      return api;
    });
  });
})();
