/* Score-function vs pathwise gradient estimators (chapter 07).
 *
 * The chapter's example: q = N(mu, sigma^2) with mu = 1, f(z) = (z - a)^2 with a = -0.5, so
 * E_q f = (mu - a)^2 + sigma^2, dE/dmu = 2 (mu - a), dE/dsigma = 2 sigma. With z = mu + sigma eps:
 *   score function:  d/dmu ~ f(z) (z - mu) / sigma^2,      d/dsigma ~ f(z) ((z - mu)^2 - sigma^2) / sigma^3
 *   pathwise:        d/dmu ~ 2 (z - a),                    d/dsigma ~ 2 (z - a) eps
 * An n-sample estimate averages n of these; the page makes R = 500 such estimates (from one pool of
 * 500 x 1024 standard normals, drawn again by "new draws") and shows
 * their histograms and standard deviations, next to the exact ones sqrt(Var_1 / n), c = mu - a:
 *   Var_1 score d/dmu = (c^4 + 18 c^2 sigma^2 + 15 sigma^4) / sigma^2 - 4 c^2,  pathwise = 4 sigma^2
 *   Var_1 score d/dsigma = (2 c^4 + 60 c^2 sigma^2 + 78 sigma^4) / sigma^2 - 4 sigma^2,  pathwise = 4 c^2 + 8 sigma^2
 */
(function () {
  "use strict";
  var MU = 1.0, A = -0.5, R = 500;
  var SIZES = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024];

  function single(param, sigma, e) {
    var z = MU + sigma * e, fz = (z - A) * (z - A);
    if (param === "mu") return [fz * (z - MU) / (sigma * sigma), 2 * (z - A)];
    return [fz * ((z - MU) * (z - MU) - sigma * sigma) / (sigma * sigma * sigma), 2 * (z - A) * e];
  }
  function theory(param, sigma) {
    var c = MU - A, s2 = sigma * sigma;
    if (param === "mu") return { truth: 2 * c, score: (c * c * c * c + 18 * c * c * s2 + 15 * s2 * s2) / s2 - 4 * c * c, pathwise: 4 * s2 };
    return { truth: 2 * sigma, score: (2 * c * c * c * c + 60 * c * c * s2 + 78 * s2 * s2) / s2 - 4 * s2, pathwise: 4 * c * c + 8 * s2 };
  }
  function std(v) {
    var m = 0, s = 0, i;
    for (i = 0; i < v.length; i++) m += v[i];
    m /= v.length;
    for (i = 0; i < v.length; i++) s += (v[i] - m) * (v[i] - m);
    return { mean: m, std: Math.sqrt(s / (v.length - 1)) };
  }
  /** R n-sample estimates from noise eps(r, i) (a function or an array of R arrays of n numbers). */
  function estimates(param, sigma, n, eps, reps) {
    reps = reps || R;
    var sc = new Float64Array(reps), pw = new Float64Array(reps);
    for (var r = 0; r < reps; r++) {
      var a = 0, b = 0;
      for (var i = 0; i < n; i++) {
        var g = single(param, sigma, typeof eps === "function" ? eps(r, i) : eps[r][i]);
        a += g[0]; b += g[1];
      }
      sc[r] = a / n; pw[r] = b / n;
    }
    var th = theory(param, sigma), s1 = std(sc), s2 = std(pw);
    return { score: sc, pathwise: pw, score_mean: s1.mean, score_std: s1.std, pathwise_mean: s2.mean, pathwise_std: s2.std,
      truth: th.truth, score_std_exact: Math.sqrt(th.score / n), pathwise_std_exact: Math.sqrt(th.pathwise / n) };
  }

  window.vaeExplorables._register("gradient-estimators", function (el, X) {
    var T = {
      title: { en: "Explore: score-function vs pathwise gradients", ko: "직접 해 보기: 점수 함수 추정량과 경로 미분 추정량" },
      note: { en: "The chapter's example q = N(1, σ²), f(z) = (z + 0.5)². Each histogram holds 500 independent n-sample estimates; the black line is the exact gradient.",
        ko: "이 장의 예제 q = N(1, σ²), f(z) = (z + 0.5)²입니다. 각 히스토그램은 서로 독립인 n-표본 추정값 500개이고, 검은 선은 정확한 기울기입니다." },
      n: { en: "number of samples", ko: "표본 수" },  // the value reads "n = 16"
      sigma: { en: "standard deviation σ of q", ko: "q의 표준편차 σ" },
      param: { en: "gradient with respect to", ko: "기울기를 구할 매개변수" },
      redraw: { en: "new draws", ko: "새 표본 추출" },
      score: { en: "score function", ko: "점수 함수" },
      pathwise: { en: "pathwise (reparameterization)", ko: "경로 미분 (재매개변수화)" },
      sd: { en: "std", ko: "표준편차" }, exact: { en: "exact", ko: "정확한 값" },
      canvas: { en: "Histograms of 500 score-function and 500 pathwise gradient estimates", ko: "점수 함수 추정값 500개와 경로 미분 추정값 500개의 히스토그램" },
    };
    X.frame(el, T.title, T.note);
    var api = {}, seed = 1, NMAX = SIZES[SIZES.length - 1], pool = new Float64Array(R * NMAX);
    // one pool of R x 1024 standard normals per seed, shared by every n and sigma (common random numbers:
    // moving a slider changes the estimator, not the noise); "new draws" refills it
    function refill() { var g = X.rng(seed); for (var i = 0; i < pool.length; i++) pool[i] = g.normal(); }
    var fromPool = function (r, i) { return pool[r * NMAX + i]; };
    var plot = X.canvas(640, 300, { role: "img", "aria-label": X.L(T.canvas) });
    var readout = X.h("div", { className: "vaex-readout", "aria-live": "polite" });
    var sN = X.slider({ label: T.n, min: 0, max: SIZES.length - 1, step: 1, value: 4, format: function (v) { return "n = " + SIZES[v]; }, onInput: update });
    var sS = X.slider({ label: T.sigma, min: 0.1, max: 2, step: 0.05, value: 0.8, format: function (v) { return X.fmt(v, 2); }, onInput: update });
    var rP = X.radios(T.param, [{ value: "mu", label: "μ" }, { value: "sigma", label: "σ" }], "mu", update);
    el.appendChild(plot.canvas);
    el.appendChild(X.h("div", { className: "vaex-controls" }, [sN.row, sS.row, rP.node]));
    el.appendChild(X.h("div", { className: "vaex-buttons" }, [X.button(T.redraw, function () { seed += 1; X.timed(api, "redraw", refill); update(); })]));
    el.appendChild(readout);
    var current = null;

    function hist(ctx, values, lo, hi, top, height, color, label, stats) {
      var nb = 40, counts = new Array(nb).fill(0), w = plot.w, left = 20, right = w - 20, i;
      for (i = 0; i < values.length; i++) {
        var k = Math.floor((values[i] - lo) / (hi - lo) * nb);
        if (k >= 0 && k < nb) counts[k] += 1;
      }
      var cmax = Math.max.apply(null, counts) || 1, bw = (right - left) / nb;
      ctx.fillStyle = color;
      for (i = 0; i < nb; i++) { var hgt = counts[i] / cmax * (height - 24); ctx.fillRect(left + i * bw + 1, top + height - hgt, bw - 2, hgt); }
      ctx.fillStyle = "#000"; ctx.font = "12px sans-serif"; ctx.textAlign = "left";
      ctx.fillText(label + ": " + X.L(T.sd) + " " + X.fmt(stats[0], 3) + " (" + X.L(T.exact) + " " + X.fmt(stats[1], 3) + ")", left, top + 12);
      ctx.strokeStyle = "#ccc"; ctx.beginPath(); ctx.moveTo(left, top + height + 0.5); ctx.lineTo(right, top + height + 0.5); ctx.stroke();
    }
    function draw(res) {
      var ctx = plot.ctx, w = plot.w, hh = plot.h;
      ctx.fillStyle = "#fff"; ctx.fillRect(0, 0, w, hh);
      var half = 4 * res.score_std_exact, lo = res.truth - half, hi = res.truth + half;
      hist(ctx, res.score, lo, hi, 6, 120, "rgba(214,39,40,0.75)", X.L(T.score), [res.score_std, res.score_std_exact]);
      hist(ctx, res.pathwise, lo, hi, 140, 120, "rgba(31,119,180,0.8)", X.L(T.pathwise), [res.pathwise_std, res.pathwise_std_exact]);
      var px = function (v) { return 20 + (v - lo) / (hi - lo) * (w - 40); };
      ctx.strokeStyle = "#000"; ctx.lineWidth = 1.5;
      ctx.beginPath(); ctx.moveTo(px(res.truth), 20); ctx.lineTo(px(res.truth), 262); ctx.stroke();
      ctx.fillStyle = "#444"; ctx.textAlign = "center"; ctx.font = "12px sans-serif";
      for (var t = -4; t <= 4; t += 2) ctx.fillText(X.fmt(res.truth + t * res.score_std_exact / 1, 2), px(res.truth + t * res.score_std_exact), 280);
    }
    function update() {
      var n = SIZES[sN.value()], sigma = sS.value(), param = rP.value();
      X.timed(api, "update", function () {
        current = estimates(param, sigma, n, fromPool);
        current.n = n; current.sigma = sigma; current.param = param;
        readout.textContent = "∂E/∂" + (param === "mu" ? "μ" : "σ") + " = " + X.fmt(current.truth, 3) + ";  " + X.L(T.score) + ": " +
          X.fmt(current.score_mean, 3) + " ± " + X.fmt(current.score_std, 3) + ";  " + X.L(T.pathwise) + ": " +
          X.fmt(current.pathwise_mean, 3) + " ± " + X.fmt(current.pathwise_std, 3) + "  (n = " + n + ")";
        draw(current);
      });
    }
    api.compute = function (inp) {
      var res = estimates(inp.param || "mu", inp.sigma, inp.n, inp.eps, inp.eps.length);
      return { score: Array.from(res.score), pathwise: Array.from(res.pathwise), truth: res.truth,
        score_std_exact: res.score_std_exact, pathwise_std_exact: res.pathwise_std_exact };
    };
    api.state = function () {
      return { n: current.n, sigma: current.sigma, param: current.param, truth: current.truth, score_std: current.score_std,
        pathwise_std: current.pathwise_std, score_std_exact: current.score_std_exact, pathwise_std_exact: current.pathwise_std_exact,
        score_mean: current.score_mean, pathwise_mean: current.pathwise_mean, text: readout.textContent };
    };
    api.constants = { mu: MU, a: A, repetitions: R, sizes: SIZES };
    X.timed(api, "redraw", refill);
    update();
    return api;
  });
})();
