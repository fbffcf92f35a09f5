/* The ELBO gap (chapter 06), on the chapter's linear-Gaussian model
 *   z ~ N(0, I_2),  x | z ~ N(W z + b, sigma^2 I_5),  sigma = 0.5,
 * with the chapter's W, b and its one observation x (drawn with torch.Generator seed 0).
 * Exact: p(x) = N(b, W W^T + sigma^2 I), p(z|x) = N(m, S), S = (I + W^T W / sigma^2)^-1,
 * m = S W^T (x - b) / sigma^2. For q = N(mu, Sigma) the chapter's closed forms:
 *   ELBO = -D/2 log(2 pi sigma^2) - (|x - b - W mu|^2 + tr(W Sigma W^T)) / (2 sigma^2)
 *          - 1/2 (tr Sigma + |mu|^2 - d - log det Sigma)
 *   KL(q || p(z|x)) = 1/2 (tr(S^-1 Sigma) + (m - mu)^T S^-1 (m - mu) - d + log det S - log det Sigma)
 * and log p(x) = ELBO + KL for every q. Sigma = [[v1, r sqrt(v1 v2)], [r sqrt(v1 v2), v2]].
 */
(function () {
  "use strict";
  var SIG = 0.5, D = 5, d = 2;
  var Wm = [[1.0, 0.8], [0.5, 0.6], [-0.3, -0.1], [0.8, 0.4], [0.2, 0.5]];
  var B = [0.5, -0.2, 0.1, 0.0, 0.3];
  var Xobs = [0.7168582925980076, 0.6786563493057878, -0.8752171131091288, 0.4161276266054179, 0.6631581925829851];
  var s2 = SIG * SIG;

  function inv2(A) { var det = A[0][0] * A[1][1] - A[0][1] * A[1][0]; return [[A[1][1] / det, -A[0][1] / det], [-A[1][0] / det, A[0][0] / det]]; }
  function det2(A) { return A[0][0] * A[1][1] - A[0][1] * A[1][0]; }
  // W^T W and the exact posterior
  var WtW = [[0, 0], [0, 0]], r = [], Wtr = [0, 0], i, j, k;
  for (i = 0; i < D; i++) r.push(Xobs[i] - B[i]);
  for (j = 0; j < d; j++) for (k = 0; k < d; k++) for (i = 0; i < D; i++) WtW[j][k] += Wm[i][j] * Wm[i][k];
  for (j = 0; j < d; j++) for (i = 0; i < D; i++) Wtr[j] += Wm[i][j] * r[i];
  var S = inv2([[1 + WtW[0][0] / s2, WtW[0][1] / s2], [WtW[1][0] / s2, 1 + WtW[1][1] / s2]]);
  var Sinv = inv2(S);
  var mPost = [(S[0][0] * Wtr[0] + S[0][1] * Wtr[1]) / s2, (S[1][0] * Wtr[0] + S[1][1] * Wtr[1]) / s2];
  // log p(x) with Woodbury: C^-1 = I/s2 - W S W^T / s2^2, det C = s2^D / det S
  var quad = 0;
  for (i = 0; i < D; i++) quad += r[i] * r[i] / s2;
  quad -= (Wtr[0] * (S[0][0] * Wtr[0] + S[0][1] * Wtr[1]) + Wtr[1] * (S[1][0] * Wtr[0] + S[1][1] * Wtr[1])) / (s2 * s2);
  var LOGPX = -0.5 * (D * Math.log(2 * Math.PI) + D * Math.log(s2) - Math.log(det2(S)) + quad);
  var MF = [1 / Sinv[0][0], 1 / Sinv[1][1]];  // the best diagonal q: variances 1 / Lambda_ii

  function cov(q) { var c = q.rho * Math.sqrt(q.v1 * q.v2); return [[q.v1, c], [c, q.v2]]; }

  function terms(q) {
    var mu = [q.mu1, q.mu2], Sg = cov(q), i, res = 0, trW = 0;
    for (i = 0; i < D; i++) {
      var e = r[i] - Wm[i][0] * mu[0] - Wm[i][1] * mu[1];
      res += e * e;
      trW += Wm[i][0] * (Sg[0][0] * Wm[i][0] + Sg[0][1] * Wm[i][1]) + Wm[i][1] * (Sg[1][0] * Wm[i][0] + Sg[1][1] * Wm[i][1]);
    }
    var ldS = Math.log(det2(Sg));
    var recon = -0.5 * D * Math.log(2 * Math.PI * s2) - (res + trW) / (2 * s2);
    var klPrior = 0.5 * (Sg[0][0] + Sg[1][1] + mu[0] * mu[0] + mu[1] * mu[1] - d - ldS);
    var dm = [mPost[0] - mu[0], mPost[1] - mu[1]];
    var tr = Sinv[0][0] * Sg[0][0] + Sinv[0][1] * Sg[1][0] + Sinv[1][0] * Sg[0][1] + Sinv[1][1] * Sg[1][1];
    var maha = dm[0] * (Sinv[0][0] * dm[0] + Sinv[0][1] * dm[1]) + dm[1] * (Sinv[1][0] * dm[0] + Sinv[1][1] * dm[1]);
    var gap = 0.5 * (tr + maha - d + Math.log(det2(S)) - ldS);
    return { elbo: recon - klPrior, recon: recon, kl_prior: klPrior, kl_posterior: gap, log_px: LOGPX };
  }

  window.vaeExplorables._register("elbo-gap", function (el, X) {
    var T = {
      title: { en: "Explore: log p(x) = ELBO + KL(q‖p(z|x))", ko: "직접 해 보기: log p(x) = ELBO + KL(q‖p(z|x))" },
      note: { en: "The chapter's linear-Gaussian model and its observation x. Move q's mean, variances and correlation: log p(x) stays put, and what the ELBO loses the KL to the posterior gains.",
        ko: "이 장의 선형 가우시안 모델과 관측값 x입니다. q의 평균, 분산, 상관계수를 움직여 보십시오. log p(x)는 그대로이고, ELBO가 잃은 만큼 사후 분포까지의 KL이 늘어납니다." },
      mu1: { en: "mean μ₁ of q", ko: "q의 평균 μ₁" }, mu2: { en: "mean μ₂ of q", ko: "q의 평균 μ₂" },
      v1: { en: "variance σ₁² of q", ko: "q의 분산 σ₁²" }, v2: { en: "variance σ₂² of q", ko: "q의 분산 σ₂²" },
      rho: { en: "correlation ρ of q", ko: "q의 상관계수 ρ" },
      exact: { en: "q = exact posterior", ko: "q = 참 사후 분포" },
      meanfield: { en: "best diagonal q (mean-field)", ko: "가장 좋은 대각 q (평균장)" },
      prior: { en: "q = prior N(0, I)", ko: "q = 사전 확률분포 N(0, I)" },
      post: { en: "exact posterior p(z|x) (1σ, 2σ)", ko: "참 사후 분포 p(z|x) (1σ, 2σ)" },
      qlab: { en: "q (1σ, 2σ)", ko: "q (1σ, 2σ)" },
      plane: { en: "Latent plane: ellipses of the exact posterior and of q", ko: "잠재 평면: 참 사후 분포와 q의 타원" },
      bars: { en: "log p(x) split into ELBO and KL", ko: "ELBO와 KL로 나눈 log p(x)" },
      gap: { en: "gap KL(q‖p(z|x))", ko: "간극 KL(q‖p(z|x))" },
    };
    X.frame(el, T.title, T.note);
    var api = {};
    var state = { mu1: 0, mu2: 0, v1: 1, v2: 1, rho: 0 };
    // a phone: the plane and the bars side by side at half the column each (drawn at that size, so the
    // text keeps its size), and the row stays in view (sticky) while the sliders below it move
    var avail = el.clientWidth || 640, narrow = avail < 560;
    var SIZE = narrow ? Math.max(140, Math.floor((avail - 28) / 2)) : 300;
    var plane = X.canvas(SIZE, SIZE, { role: "img", "aria-label": X.L(T.plane) });
    var bars = X.canvas(SIZE, SIZE, { role: "img", "aria-label": X.L(T.bars) });
    var legend = X.h("div", { className: "vaex-legend" }, [
      X.h("span", { className: "vaex-key vaex-key-post", text: "— " + X.L(T.post) }),
      X.h("span", { className: "vaex-key vaex-key-q", text: "- - " + X.L(T.qlab) })]);
    var readout = X.h("div", { className: "vaex-readout", "aria-live": "polite" });
    var f2 = function (v) { return X.fmt(v, 2); }, f3 = function (v) { return X.fmt(v, 3); };
    var set = function (key) { return function (v) { state[key] = v; update(); }; };
    var sl = {
      mu1: X.slider({ label: T.mu1, min: -2, max: 2, step: 0.01, value: 0, format: f2, onInput: set("mu1") }),
      mu2: X.slider({ label: T.mu2, min: -2, max: 2, step: 0.01, value: 0, format: f2, onInput: set("mu2") }),
      v1: X.slider({ label: T.v1, min: 0.01, max: 1.5, step: 0.005, value: 1, format: f3, onInput: set("v1") }),
      v2: X.slider({ label: T.v2, min: 0.01, max: 1.5, step: 0.005, value: 1, format: f3, onInput: set("v2") }),
      rho: X.slider({ label: T.rho, min: -0.95, max: 0.95, step: 0.01, value: 0, format: f2, onInput: set("rho") }),
    };
    function setAll(q) { Object.keys(q).forEach(function (k) { state[k] = q[k]; sl[k].set(q[k], true); }); update(); }
    var Scorr = S[0][1] / Math.sqrt(S[0][0] * S[1][1]);
    var buttons = X.h("div", { className: "vaex-buttons" }, [
      X.button(T.exact, function () { setAll({ mu1: mPost[0], mu2: mPost[1], v1: S[0][0], v2: S[1][1], rho: Scorr }); }),
      X.button(T.meanfield, function () { setAll({ mu1: mPost[0], mu2: mPost[1], v1: MF[0], v2: MF[1], rho: 0 }); }),
      X.button(T.prior, function () { setAll({ mu1: 0, mu2: 0, v1: 1, v2: 1, rho: 0 }); }),
    ]);
    el.appendChild(X.h("div", { className: "vaex-row vaex-plots" + (narrow ? " vaex-narrow" : "") }, [
      X.h("div", { className: "vaex-row" }, [plane.canvas, bars.canvas]), legend]));
    el.appendChild(X.h("div", { className: "vaex-controls" }, Object.keys(sl).map(function (k) { return sl[k].row; })));
    el.appendChild(buttons);
    el.appendChild(readout);

    function ellipse(ctx, px, py, mean, C, radius, style) {
      var a = Math.sqrt(C[0][0]), l10 = C[1][0] / a, l11 = Math.sqrt(Math.max(C[1][1] - l10 * l10, 1e-12));
      ctx.beginPath();
      for (var t = 0; t <= 100; t++) {
        var th = 2 * Math.PI * t / 100, c = Math.cos(th), s = Math.sin(th);
        var zx = mean[0] + radius * a * c, zy = mean[1] + radius * (l10 * c + l11 * s);
        if (t === 0) ctx.moveTo(px(zx), py(zy)); else ctx.lineTo(px(zx), py(zy));
      }
      ctx.strokeStyle = style.color; ctx.lineWidth = style.width; ctx.setLineDash(style.dash || []); ctx.stroke(); ctx.setLineDash([]);
    }
    function drawPlane() {
      var ctx = plane.ctx, w = plane.w, lim = 2.5;
      var px = function (z) { return w / 2 + z / lim * (w / 2 - 10); }, py = function (z) { return w / 2 - z / lim * (w / 2 - 10); };
      ctx.fillStyle = "#fff"; ctx.fillRect(0, 0, w, w);
      ctx.strokeStyle = "#ddd"; ctx.lineWidth = 1;
      ctx.beginPath(); ctx.moveTo(px(-lim), py(0)); ctx.lineTo(px(lim), py(0)); ctx.moveTo(px(0), py(-lim)); ctx.lineTo(px(0), py(lim)); ctx.stroke();
      [1, 2].forEach(function (rad) { ellipse(ctx, px, py, mPost, S, rad, { color: "#000", width: 2.5 }); });
      var C = cov(state);
      [1, 2].forEach(function (rad) { ellipse(ctx, px, py, [state.mu1, state.mu2], C, rad, { color: "#1f77b4", width: 1.8, dash: [6, 3] }); });
      ctx.strokeStyle = "#000"; ctx.lineWidth = 2;
      ctx.beginPath(); ctx.moveTo(px(mPost[0]) - 7, py(mPost[1])); ctx.lineTo(px(mPost[0]) + 7, py(mPost[1]));
      ctx.moveTo(px(mPost[0]), py(mPost[1]) - 7); ctx.lineTo(px(mPost[0]), py(mPost[1]) + 7); ctx.stroke();
      ctx.fillStyle = "#1f77b4"; ctx.beginPath(); ctx.arc(px(state.mu1), py(state.mu2), 3.5, 0, 2 * Math.PI); ctx.fill();
      ctx.font = "12px sans-serif"; ctx.textAlign = "left";  // (the legend is HTML under the row)
      ctx.fillStyle = "#666"; ctx.fillText("z₁", w - 18, py(0) - 4); ctx.fillText("z₂", px(0) + 4, 14);
    }
    function drawBars(t) {
      var ctx = bars.ctx, w = bars.w, hh = bars.h, top = t.log_px + 1, bottom = t.log_px - 12;
      var py = function (v) { return 20 + (top - Math.max(bottom, Math.min(top, v))) / (top - bottom) * (hh - 50); };
      // x positions: tick labels right-aligned in a left gutter, the bar, the value labels to its right
      var fs = narrow ? 11 : 12, tickX = narrow ? 30 : 52, barX = tickX + 6, barW = narrow ? 24 : 70;
      var labelX = barX + barW + (narrow ? 5 : 25);
      ctx.fillStyle = "#fff"; ctx.fillRect(0, 0, w, hh);
      ctx.fillStyle = "rgba(31,119,180,0.75)"; ctx.fillRect(barX, py(t.elbo), barW, py(bottom) - py(t.elbo));
      ctx.fillStyle = "rgba(255,127,14,0.45)"; ctx.fillRect(barX, py(t.log_px), barW, py(t.elbo) - py(t.log_px));
      ctx.strokeStyle = "#000"; ctx.lineWidth = 2;
      ctx.beginPath(); ctx.moveTo(barX - 4, py(t.log_px)); ctx.lineTo(barX + barW + 4, py(t.log_px)); ctx.stroke();
      ctx.font = fs + "px sans-serif"; ctx.textAlign = "left";
      // the three value labels never overlap each other or the bottom line: at least one line apart
      var yLog = py(t.log_px) + 4, yElbo = Math.min(Math.max(py(t.elbo) + 16, yLog + 2 * (fs + 3)), hh - 30);
      var yKl = Math.min(Math.max((yLog + yElbo) / 2, yLog + fs + 3), yElbo - fs - 3);
      ctx.fillStyle = "#000"; ctx.fillText((narrow ? "log p(x) " : "log p(x) = ") + X.fmt(t.log_px, narrow ? 2 : 3), labelX, yLog);
      ctx.fillStyle = "#c25a00"; ctx.fillText("KL " + (narrow ? "" : "= ") + X.fmt(t.kl_posterior, narrow ? 2 : 3), labelX, yKl);
      ctx.fillStyle = "#1f77b4"; ctx.fillText("ELBO " + (narrow ? "" : "= ") + X.fmt(t.elbo, narrow ? 2 : 3), labelX, yElbo);
      ctx.fillStyle = "#666"; ctx.textAlign = "right";
      for (var v = Math.ceil(bottom); v <= top; v += 2) {
        var yv = py(v) + 4;
        if (yv > hh - 24) continue;  // no tick label on top of the "nats" line
        ctx.fillText(String(v).replace("-", "−"), tickX, yv);
      }
      ctx.textAlign = "left"; ctx.fillText("nats", 2, hh - 10);
      if (t.elbo < bottom) { ctx.fillStyle = "#1f77b4"; ctx.fillText("↓", barX + barW / 2 - 4, hh - 24); }
    }
    var current = null;
    function update() {
      X.timed(api, "update", function () {
        current = terms(state);
        readout.textContent = "log p(x) = ELBO + KL(q‖p(z|x)):  " + X.fmt(current.log_px, 4) + " = " + X.fmt(current.elbo, 4) +
          " + " + X.fmt(current.kl_posterior, 4) + " nats";
        drawPlane();
        drawBars(current);
      });
    }
    api.compute = function (q) { return terms(q); };
    api.set = function (q) { setAll(q); return api.state(); };
    api.state = function () { return Object.assign({ inputs: Object.assign({}, state), text: readout.textContent }, current); };
    api.posterior = { m: mPost, S: S, x: Xobs };
    update();
    return api;
  });
})();
