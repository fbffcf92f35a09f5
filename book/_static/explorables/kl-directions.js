/* Forward vs reverse KL (chapter 04).
 *
 * Target p = 0.3 N(-2, 0.5^2) + 0.7 N(2, 0.5^2) (the chapter's mixture); q = N(mu, sigma^2).
 * Both KLs by the trapezoidal rule on a grid over [-20, 20] with spacing 0.01 (the chapter's
 * spacing, on a range wide enough for every slider position):
 *   KL(q||p) = int q (log q - log p),   KL(p||q) = int p (log p - log q).
 * The buttons run the chapter's minimization: Adam (lr 0.1, 300 steps, betas 0.9/0.999) on
 * (mu, log sigma), from where the sliders are, with the exact gradients of the quadrature:
 *   d log q / d mu = (x - mu) / sigma^2,  d log q / d log sigma = ((x - mu) / sigma)^2 - 1,
 *   dKL(p||q) = -int p d log q,  dKL(q||p) = int q d log q (log q - log p + 1).
 */
(function () {
  "use strict";
  var W = [0.3, 0.7], M = [-2, 2], S = [0.5, 0.5];
  var LO = -20, HI = 20, N = 4001, STEP = (HI - LO) / (N - 1);
  var LOG2PI = Math.log(2 * Math.PI);
  var xs = new Float64Array(N), logp = new Float64Array(N), p = new Float64Array(N), tw = new Float64Array(N);
  for (var i = 0; i < N; i++) {
    xs[i] = LO + i * STEP;
    var a = Math.log(W[0]) - 0.5 * Math.pow((xs[i] - M[0]) / S[0], 2) - Math.log(S[0]) - 0.5 * LOG2PI;
    var b = Math.log(W[1]) - 0.5 * Math.pow((xs[i] - M[1]) / S[1], 2) - Math.log(S[1]) - 0.5 * LOG2PI;
    var m = Math.max(a, b);
    logp[i] = m + Math.log(Math.exp(a - m) + Math.exp(b - m));
    p[i] = Math.exp(logp[i]);
    tw[i] = (i === 0 || i === N - 1) ? STEP / 2 : STEP;
  }

  /** Both KLs and their gradients in (mu, log sigma). */
  function kls(mu, sigma) {
    var fwd = 0, rev = 0, gf = [0, 0], gr = [0, 0], ls = Math.log(sigma);
    for (var i = 0; i < N; i++) {
      var u = (xs[i] - mu) / sigma;
      var lq = -0.5 * u * u - ls - 0.5 * LOG2PI, q = Math.exp(lq);
      var dmu = u / sigma, dls = u * u - 1;
      fwd += tw[i] * p[i] * (logp[i] - lq);
      gf[0] -= tw[i] * p[i] * dmu; gf[1] -= tw[i] * p[i] * dls;
      var c = q * (lq - logp[i]);
      rev += tw[i] * c;
      var e = tw[i] * q * (lq - logp[i] + 1);
      gr[0] += e * dmu; gr[1] += e * dls;
    }
    return { forward: fwd, reverse: rev, gradForward: gf, gradReverse: gr };
  }

  /** Adam on (mu, log sigma), as torch.optim.Adam(lr) in chapter 04. Returns the path. */
  function minimize(direction, mu0, sigma0, steps, lr) {
    steps = steps || 300; lr = lr || 0.1;
    var th = [mu0, Math.log(sigma0)], m1 = [0, 0], m2 = [0, 0], b1 = 0.9, b2 = 0.999, epsA = 1e-8;
    var path = [[th[0], Math.exp(th[1])]];
    for (var t = 1; t <= steps; t++) {
      var r = kls(th[0], Math.exp(th[1]));
      var g = direction === "forward" ? r.gradForward : r.gradReverse;
      for (var j = 0; j < 2; j++) {
        m1[j] = b1 * m1[j] + (1 - b1) * g[j];
        m2[j] = b2 * m2[j] + (1 - b2) * g[j] * g[j];
        var mh = m1[j] / (1 - Math.pow(b1, t)), vh = m2[j] / (1 - Math.pow(b2, t));
        th[j] -= lr * mh / (Math.sqrt(vh) + epsA);
      }
      path.push([th[0], Math.exp(th[1])]);
    }
    var fin = kls(th[0], Math.exp(th[1]));
    return { mu: th[0], sigma: Math.exp(th[1]), kl: direction === "forward" ? fin.forward : fin.reverse, path: path };
  }

  window.vaeExplorables._register("kl-directions", function (el, X) {
    var T = {
      title: { en: "Explore: forward and reverse KL", ko: "직접 해 보기: 정방향 KL과 역방향 KL" },
      note: { en: "Move the mean and standard deviation of the Gaussian q (blue) against the two-mode target p (grey), or let each minimization run from where q is.",
        ko: "가우시안 q(파란색)의 평균과 표준편차를 움직여 두 봉우리 목표 분포 p(회색)와 비교하거나, 지금 q가 있는 자리에서 각 최소화를 실행해 보십시오." },
      mu: { en: "mean μ of q", ko: "q의 평균 μ" },
      sigma: { en: "standard deviation σ of q", ko: "q의 표준편차 σ" },
      runRev: { en: "minimize KL(q‖p) (reverse)", ko: "KL(q‖p) 최소화 (역방향)" },
      runFwd: { en: "minimize KL(p‖q) (forward)", ko: "KL(p‖q) 최소화 (정방향)" },
      reset: { en: "reset", ko: "처음으로" },
      landed: { en: "landed at", ko: "도착점" },
      p: { en: "target p", ko: "목표 p" },
      canvas: { en: "Densities of the target p and of the Gaussian q", ko: "목표 분포 p와 가우시안 q의 확률밀도" },
    };
    X.frame(el, T.title, T.note);
    var api = {};
    var plot = X.canvas(640, 240, { role: "img", "aria-label": X.L(T.canvas) });
    var readout = X.h("div", { className: "vaex-readout", "aria-live": "polite" });
    var status = X.h("div", { className: "vaex-status", "aria-live": "polite" });
    var trail = null, anim = null;

    var sMu = X.slider({ label: T.mu, min: -4, max: 4, step: 0.01, value: 0, format: function (v) { return X.fmt(v, 2); }, onInput: update });
    var sSigma = X.slider({ label: T.sigma, min: 0.2, max: 2.5, step: 0.01, value: 1, format: function (v) { return X.fmt(v, 2); }, onInput: update });
    var bRev = X.button(T.runRev, function () { run("reverse"); });
    var bFwd = X.button(T.runFwd, function () { run("forward"); });
    var bReset = X.button(T.reset, function () { stop(); trail = null; status.textContent = ""; sMu.set(0, true); sSigma.set(1, true); update(); });
    el.appendChild(plot.canvas);
    el.appendChild(X.h("div", { className: "vaex-controls" }, [sMu.row, sSigma.row]));
    el.appendChild(X.h("div", { className: "vaex-buttons" }, [bRev, bFwd, bReset]));
    el.appendChild(readout);
    el.appendChild(status);

    var current = null;
    function draw(mu, sigma) {
      var ctx = plot.ctx, w = plot.w, hh = plot.h, x0 = -6, x1 = 6, ymax = 0.9;
      var px = function (x) { return 40 + (x - x0) / (x1 - x0) * (w - 50); };
      var py = function (y) { return hh - 25 - y / ymax * (hh - 40); };
      ctx.clearRect(0, 0, w, hh);
      ctx.fillStyle = "#fff"; ctx.fillRect(0, 0, w, hh);
      ctx.strokeStyle = "#444"; ctx.lineWidth = 1;
      ctx.beginPath(); ctx.moveTo(40, py(0)); ctx.lineTo(w - 10, py(0)); ctx.stroke();
      ctx.fillStyle = "#444"; ctx.font = "12px sans-serif"; ctx.textAlign = "center";
      for (var t = -6; t <= 6; t += 2) ctx.fillText(String(t).replace("-", "−"), px(t), hh - 8);
      ctx.beginPath(); ctx.moveTo(px(x0), py(0));
      for (var i = 0; i < N; i += 5) if (xs[i] >= x0 && xs[i] <= x1) ctx.lineTo(px(xs[i]), py(p[i]));
      ctx.lineTo(px(x1), py(0)); ctx.closePath(); ctx.fillStyle = "rgba(120,120,120,0.35)"; ctx.fill();
      ctx.beginPath();
      for (var j = 0; j <= 600; j++) {
        var x = x0 + (x1 - x0) * j / 600, q = Math.exp(-0.5 * Math.pow((x - mu) / sigma, 2)) / (sigma * Math.sqrt(2 * Math.PI));
        var Y = py(Math.min(q, ymax * 1.05));
        if (j === 0) ctx.moveTo(px(x), Y); else ctx.lineTo(px(x), Y);
      }
      ctx.strokeStyle = "#1f77b4"; ctx.lineWidth = 2.5; ctx.stroke();
      if (trail) {
        ctx.fillStyle = trail.direction === "forward" ? "#d62728" : "#2ca02c";
        trail.points.forEach(function (pt) { ctx.beginPath(); ctx.arc(px(pt[0]), py(0) - 6, 2, 0, 2 * Math.PI); ctx.fill(); });
      }
      ctx.textAlign = "left"; ctx.fillStyle = "#555"; ctx.fillText(X.L(T.p), px(2.7), py(0.55));
      ctx.fillStyle = "#1f77b4"; ctx.fillText("q = N(" + X.fmt(mu, 2) + ", " + X.fmt(sigma, 2) + "²)", 48, 16);
    }

    function update() {
      var mu = sMu.value(), sigma = sSigma.value();
      X.timed(api, "update", function () {
        current = kls(mu, sigma);
        readout.textContent = "KL(q‖p) = " + X.fmt(current.reverse, 4) + " nats    KL(p‖q) = " + X.fmt(current.forward, 4) + " nats";
        draw(mu, sigma);
      });
    }
    function stop() { if (anim) cancelAnimationFrame(anim); anim = null; }
    function run(direction) {
      stop();
      var res = X.timed(api, "minimize", function () { return minimize(direction, sMu.value(), sSigma.value()); });
      trail = { direction: direction, points: [] };
      var k = 0;
      var stepFrame = function () {
        k = Math.min(res.path.length - 1, k + 5);
        var pt = res.path[k];
        trail.points.push(pt);
        sMu.set(Math.max(-4, Math.min(4, pt[0])), true); sSigma.set(Math.max(0.2, Math.min(2.5, pt[1])), true);
        var r = kls(pt[0], pt[1]);
        current = r;
        readout.textContent = "KL(q‖p) = " + X.fmt(r.reverse, 4) + " nats    KL(p‖q) = " + X.fmt(r.forward, 4) + " nats";
        draw(pt[0], pt[1]);
        if (k < res.path.length - 1) anim = requestAnimationFrame(stepFrame);
        else {
          anim = null;
          status.textContent = (direction === "forward" ? "KL(p‖q)" : "KL(q‖p)") + " — " + X.L(T.landed) + ": μ = " + X.fmt(res.mu, 3) +
            ", σ = " + X.fmt(res.sigma, 3) + ", KL = " + X.fmt(res.kl, 4) + " nats";
        }
      };
      anim = requestAnimationFrame(stepFrame);
      api.lastRun = res;
    }

    api.compute = function (inp) {
      var r = kls(inp.mu, inp.sigma);
      return { kl_qp: r.reverse, kl_pq: r.forward };
    };
    api.minimize = function (inp) {
      var r = minimize(inp.direction, inp.mu, inp.sigma, inp.steps, inp.lr);
      return { mu: r.mu, sigma: r.sigma, kl: r.kl, steps: r.path.length - 1 };
    };
    api.state = function () {
      return { mu: sMu.value(), sigma: sSigma.value(), kl_qp: current.reverse, kl_pq: current.forward,
        text: readout.textContent, status: status.textContent, animating: anim !== null };
    };
    api.grid = { lo: LO, hi: HI, n: N };
    update();
    return api;
  });
})();
