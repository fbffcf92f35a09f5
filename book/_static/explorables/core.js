/* Shared helpers of the explorable figures (window.VAEX): language, controls, canvases,
 * a seeded normal random-number generator, and the VAE forward pass on the typed-array
 * files written by vae_lib/export.py (see its docstring for the format).
 *
 * All arithmetic is in JavaScript numbers (float64); weights are read from float32 (or float16,
 * converted exactly) arrays, so a page's numbers equal vae_lib's model run in float64.
 */
(function () {
  "use strict";
  var lang = (document.documentElement.lang || "en").toLowerCase().indexOf("ko") === 0 ? "ko" : "en";
  var uid = 0;

  function L(text) { return typeof text === "string" ? text : (text[lang] !== undefined ? text[lang] : text.en); }

  function h(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      var v = attrs[k];
      if (v === undefined || v === null || v === false) return;
      if (k === "text") node.textContent = v;
      else if (k === "className") node.className = v;
      else if (k.slice(0, 2) === "on") node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, v === true ? "" : v);
    });
    (children || []).forEach(function (c) { if (c) node.appendChild(typeof c === "string" ? document.createTextNode(c) : c); });
    return node;
  }

  function fmt(x, digits) {
    if (!isFinite(x)) return x > 0 ? "∞" : (x < 0 ? "−∞" : "NaN");
    return x.toFixed(digits === undefined ? 3 : digits).replace("-", "−");
  }

  /** ``node`` with ``text`` where Unicode subscript digits (μ₁, σ₂²) become <sub> elements: the subscript
   *  characters of many fonts (and of phones' fallback fonts) are tiny or missing. */
  var SUBS = "₀₁₂₃₄₅₆₇₈₉", SUPS = "⁰¹²³⁴⁵⁶⁷⁸⁹";
  function richLabel(node, text) {
    var parts = text.split(/([₀-₉]+|[⁰¹²³⁴-⁹]+)/);
    parts.forEach(function (part, i) {
      if (!part) return;
      if (i % 2 === 0) { node.appendChild(document.createTextNode(part)); return; }
      var sub = SUBS.indexOf(part[0]) !== -1, table = sub ? SUBS : SUPS;
      node.appendChild(h(sub ? "sub" : "sup", { text: part.split("").map(function (ch) { return String(table.indexOf(ch)); }).join("") }));
    });
    return node;
  }

  /** A labelled range slider: {label, min, max, step, value, format(v), onInput(v)} -> {row, input, value(), set(v)}. */
  function slider(o) {
    var id = "vaex-" + (++uid);
    var out = h("output", { "for": id, className: "vaex-value" });
    var input = h("input", { type: "range", id: id, min: o.min, max: o.max, step: o.step, value: o.value,
      "aria-label": L(o.label), className: "vaex-range" });
    var show = function () {
      var v = Number(input.value);
      var text = o.format ? o.format(v) : String(v);
      out.textContent = text;
      input.setAttribute("aria-valuetext", text);
    };
    input.addEventListener("input", function () { show(); if (o.onInput) o.onInput(Number(input.value)); });
    show();
    var row = h("div", { className: "vaex-control" }, [richLabel(h("label", { "for": id }), L(o.label)), input, out]);
    return { row: row, input: input, value: function () { return Number(input.value); },
      set: function (v, silent) { input.value = v; show(); if (!silent && o.onInput) o.onInput(Number(input.value)); } };
  }

  function button(label, onClick, extra) {
    return h("button", Object.assign({ type: "button", className: "vaex-button", text: L(label), onclick: onClick }, extra || {}));
  }

  /** Radio buttons in a fieldset: options [{value, label}] -> {node, value(), set(v)}. */
  function radios(legend, options, value, onChange) {
    var name = "vaex-r" + (++uid);
    var inputs = [];
    var fs = h("fieldset", { className: "vaex-radios" }, [h("legend", { text: L(legend) })]);
    options.forEach(function (opt) {
      var id = name + "-" + opt.value;
      var inp = h("input", { type: "radio", name: name, id: id, value: opt.value, checked: opt.value === value });
      inp.addEventListener("change", function () { if (inp.checked && onChange) onChange(opt.value); });
      inputs.push(inp);
      fs.appendChild(h("span", { className: "vaex-radio" }, [inp, h("label", { "for": id, text: L(opt.label) })]));
    });
    return { node: fs, value: function () { var c = inputs.filter(function (i) { return i.checked; })[0]; return c ? c.value : null; },
      set: function (v) { inputs.forEach(function (i) { i.checked = i.value === v; }); if (onChange) onChange(v); } };
  }

  /** A canvas of CSS size w x h drawn at the device pixel ratio; ctx works in CSS pixels. */
  function canvas(w, hgt, attrs) {
    var c = h("canvas", Object.assign({ className: "vaex-canvas" }, attrs || {}));
    var ratio = Math.min(window.devicePixelRatio || 1, 2);
    c.width = Math.round(w * ratio);
    c.height = Math.round(hgt * ratio);
    c.style.width = w + "px";
    c.style.maxWidth = "100%";
    c.style.aspectRatio = w + " / " + hgt;
    var ctx = c.getContext("2d");
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    return { canvas: c, ctx: ctx, w: w, h: hgt };
  }

  /** Draw a 28x28 image of values in [0, 1] (1 = ink, drawn black on white) at (x, y), size s. */
  var scratch = null;
  function drawDigit(ctx, values, x, y, s) {
    if (!scratch) { scratch = document.createElement("canvas"); scratch.width = 28; scratch.height = 28; }
    var sctx = scratch.getContext("2d");
    var img = sctx.createImageData(28, 28);
    for (var i = 0; i < 784; i++) {
      var g = Math.round(255 * (1 - Math.min(1, Math.max(0, values[i]))));
      img.data[4 * i] = img.data[4 * i + 1] = img.data[4 * i + 2] = g;
      img.data[4 * i + 3] = 255;
    }
    sctx.putImageData(img, 0, 0);
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(scratch, x, y, s, s);
    ctx.strokeStyle = "#999";
    ctx.lineWidth = 1;
    ctx.strokeRect(x + 0.5, y + 0.5, s - 1, s - 1);
  }

  // ------------------------------------------------------------------ random numbers
  /** Seeded generator: uniform() in (0, 1) (mulberry32) and normal() (Box-Muller). */
  function rng(seed) {
    var a = seed >>> 0;
    var spare = null;
    function uniform() {
      a = (a + 0x6d2b79f5) >>> 0;
      var t = a;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return (((t ^ (t >>> 14)) >>> 0) + 0.5) / 4294967296;
    }
    function normal() {
      if (spare !== null) { var s = spare; spare = null; return s; }
      var u = uniform(), v = uniform();
      var r = Math.sqrt(-2 * Math.log(u));
      spare = r * Math.sin(2 * Math.PI * v);
      return r * Math.cos(2 * Math.PI * v);
    }
    return { uniform: uniform, normal: normal };
  }

  // ------------------------------------------------------------------ models
  var F16 = null;
  function float16Table() {  // all 65536 half-precision values as float64
    if (F16) return F16;
    F16 = new Float64Array(65536);
    for (var i = 0; i < 65536; i++) {
      var s = i & 0x8000 ? -1 : 1, e = (i >> 10) & 0x1f, f = i & 0x3ff;
      F16[i] = e === 0 ? s * f * Math.pow(2, -24) : (e === 31 ? (f ? NaN : s * Infinity) : s * (1 + f / 1024) * Math.pow(2, e - 15));
    }
    return F16;
  }

  function readTensors(header, buffer) {
    var out = {};
    Object.keys(header.tensors).forEach(function (name) {
      var t = header.tensors[name];
      var n = t.shape.reduce(function (p, q) { return p * q; }, 1);
      if (t.dtype === "float32") out[name] = new Float32Array(buffer, t.offset, n);
      else if (t.dtype === "uint8") out[name] = new Uint8Array(buffer, t.offset, n);
      else if (t.dtype === "int32") out[name] = new Int32Array(buffer, t.offset, n);
      else if (t.dtype === "float16") {
        var raw = new Uint16Array(buffer, t.offset, n), table = float16Table(), f = new Float32Array(n);
        for (var i = 0; i < n; i++) f[i] = table[raw[i]];  // every half value is exact in float32
        out[name] = f;
      } else throw new Error("unknown dtype " + t.dtype);
    });
    return out;
  }

  var cache = {};
  /** Fetch models/NAME.json and its binary; resolves to {header, t: {tensor name: typed array}}. */
  function loadArrays(base, name) {
    if (!cache[name]) {
      var v = window.vaeExplorables._version || "";
      var url = base + "models/" + name + ".json" + v;
      cache[name] = fetch(url).then(function (r) {
        if (!r.ok) throw new Error(url + ": " + r.status);
        return r.json();
      }).then(function (header) {
        if (header.format !== "vae_lib-typed-arrays" || header.byte_order !== "little") throw new Error(url + ": unknown format");
        return fetch(base + "models/" + header.binary + v).then(function (r) {
          if (!r.ok) throw new Error(header.binary + ": " + r.status);
          return r.arrayBuffer();
        }).then(function (buf) { return { header: header, t: readTensors(header, buf) }; });
      });
    }
    return cache[name];
  }

  /** y = W x + b for one vector; W [out, in] row-major. */
  function linear(model, layer, x) {
    var W = model.t[layer + ".weight"], b = model.t[layer + ".bias"];
    var shape = model.header.tensors[layer + ".weight"].shape, nOut = shape[0], nIn = shape[1];
    var y = new Float64Array(nOut);
    for (var o = 0; o < nOut; o++) {
      var s = b[o], row = o * nIn;
      for (var i = 0; i < nIn; i++) s += W[row + i] * x[i];
      y[o] = s;
    }
    return y;
  }
  /** The same for k vectors at once (each weight row is read once for all k: faster for large k). */
  function linearBatch(model, layer, xs) {
    var W = model.t[layer + ".weight"], b = model.t[layer + ".bias"];
    var shape = model.header.tensors[layer + ".weight"].shape, nOut = shape[0], nIn = shape[1], k = xs.length;
    var ys = [];
    for (var j = 0; j < k; j++) ys.push(new Float64Array(nOut));
    for (var o = 0; o < nOut; o++) {
      var row = o * nIn;
      for (j = 0; j < k; j++) {
        var x = xs[j], s = b[o];
        for (var i = 0; i < nIn; i++) s += W[row + i] * x[i];
        ys[j][o] = s;
      }
    }
    return ys;
  }
  function decodeBatch(model, zs) {
    var layers = model.header.decoder.layers, hs = zs;
    for (var i = 0; i < layers.length; i++) {
      hs = linearBatch(model, layers[i], hs);
      if (i < layers.length - 1) hs.forEach(relu);
    }
    return hs;
  }
  function relu(v) { for (var i = 0; i < v.length; i++) if (v[i] < 0) v[i] = 0; return v; }

  /** q(z|x): x (784 numbers) -> {mu, logvar} (z_dim each). */
  function encode(model, x) {
    var hdn = x;
    model.header.encoder.layers.forEach(function (layer) { hdn = relu(linear(model, layer, hdn)); });
    return { mu: linear(model, model.header.encoder.mu, hdn), logvar: linear(model, model.header.encoder.logvar, hdn) };
  }
  /** p(x|z): z -> Bernoulli logits (784 numbers). */
  function decode(model, z) {
    var layers = model.header.decoder.layers, hdn = z;
    for (var i = 0; i < layers.length; i++) {
      hdn = linear(model, layers[i], hdn);
      if (i < layers.length - 1) relu(hdn);
    }
    return hdn;
  }
  function sigmoid(logits) {
    var p = new Float64Array(logits.length);
    for (var i = 0; i < logits.length; i++) p[i] = 1 / (1 + Math.exp(-logits[i]));
    return p;
  }
  /** log Bernoulli(x; sigmoid(l)) summed over pixels = sum x l - softplus(l). */
  function logBernoulli(x, logits) {
    var s = 0;
    for (var i = 0; i < logits.length; i++) {
      var l = logits[i];
      s += x[i] * l - (Math.max(l, 0) + Math.log1p(Math.exp(-Math.abs(l))));
    }
    return s;
  }
  var LOG2PI = Math.log(2 * Math.PI);
  function logNormalDiag(z, mu, logvar) {
    var s = 0;
    for (var i = 0; i < z.length; i++) s += LOG2PI + logvar[i] + (z[i] - mu[i]) * (z[i] - mu[i]) * Math.exp(-logvar[i]);
    return -0.5 * s;
  }
  function logStdNormal(z) { var s = 0; for (var i = 0; i < z.length; i++) s += LOG2PI + z[i] * z[i]; return -0.5 * s; }
  function klStdNormal(mu, logvar) {
    var s = 0;
    for (var i = 0; i < mu.length; i++) s += mu[i] * mu[i] + Math.exp(logvar[i]) - 1 - logvar[i];
    return 0.5 * s;
  }
  function logsumexp(v) {
    var m = -Infinity, i;
    for (i = 0; i < v.length; i++) if (v[i] > m) m = v[i];
    if (!isFinite(m)) return m;
    var s = 0;
    for (i = 0; i < v.length; i++) s += Math.exp(v[i] - m);
    return m + Math.log(s);
  }

  /**
   * The per-image bounds of vae_lib.objectives.iwae_terms for one binary image x with k draws
   * z_i = mu + exp(logvar / 2) * eps_i (eps: k arrays of z_dim numbers), from the same k draws:
   *   log w_i = log p(x|z_i) + log p(z_i) - log q(z_i|x)
   *   elbo = mean_i log w_i               (the k-sample ELBO estimate; IWAE_k >= it for every draw)
   *   iwae = logsumexp_i log w_i - log k
   * plus recon = mean_i log p(x|z_i) and kl = KL(q(z|x) || N(0, I)) in closed form.
   */
  function bounds(model, x, eps) {
    var q = encode(model, x), k = eps.length, d = q.mu.length;
    var recon = 0, logw = new Float64Array(k), zs = [], j;
    for (j = 0; j < k; j++) {
      var z = new Float64Array(d);
      for (var i = 0; i < d; i++) z[i] = q.mu[i] + Math.exp(0.5 * q.logvar[i]) * eps[j][i];
      zs.push(z);
    }
    var logits = decodeBatch(model, zs);
    for (j = 0; j < k; j++) {
      var r = logBernoulli(x, logits[j]);
      recon += r / k;
      logw[j] = r + logStdNormal(zs[j]) - logNormalDiag(zs[j], q.mu, q.logvar);
    }
    var kl = klStdNormal(q.mu, q.logvar);
    var meanLogw = 0;
    for (j = 0; j < k; j++) meanLogw += logw[j] / k;
    return { mu: Array.from(q.mu), logvar: Array.from(q.logvar), recon: recon, kl: kl, elbo: meanLogw,
      iwae: logsumexp(logw) - Math.log(k), z: zs.map(function (z) { return Array.from(z); }) };
  }

  /** Milliseconds of fn(), stored on api.timing[key] (last and max). */
  function timed(api, key, fn) {
    var t0 = performance.now();
    var result = fn();
    var ms = performance.now() - t0;
    api.timing = api.timing || {};
    var rec = api.timing[key] || { last: 0, max: 0, count: 0 };
    rec.last = ms; rec.max = Math.max(rec.max, ms); rec.count += 1;
    api.timing[key] = rec;
    return result;
  }


  /**
   * The latent plane of the 2-D model: the test images' codes (models/latent2d_codes.*) as dots
   * coloured by digit, on [-LIM, LIM]^2. -> {c (canvas), px, py, zx, zy, draw()} ; draw() repaints the dots.
   */
  var LIM = 4.5;
  function plane(codes, size, label) {
    var c = canvas(size, size, { role: "img", "aria-label": L(label), tabindex: "0" });
    var q = codes.header.meta.quantization, n = codes.header.meta.n, cz = codes.t.codes, lab = codes.t.labels;
    var px = function (z) { return (z + LIM) / (2 * LIM) * size; }, py = function (z) { return (LIM - z) / (2 * LIM) * size; };
    var zx = function (x) { return x / size * 2 * LIM - LIM; }, zy = function (y) { return LIM - y / size * 2 * LIM; };
    var base = document.createElement("canvas");
    var ratio = c.canvas.width / size;
    base.width = c.canvas.width; base.height = c.canvas.height;
    var b = base.getContext("2d");
    b.setTransform(ratio, 0, 0, ratio, 0, 0);
    b.fillStyle = "#fff"; b.fillRect(0, 0, size, size);
    b.strokeStyle = "#e4e4e4"; b.lineWidth = 1;
    for (var g = -4; g <= 4; g += 1) { b.beginPath(); b.moveTo(px(g), 0); b.lineTo(px(g), size); b.moveTo(0, py(g)); b.lineTo(size, py(g)); b.stroke(); }
    b.globalAlpha = 0.55;
    for (var i = 0; i < n; i++) {
      var z1 = q.min[0] + q.step[0] * cz[2 * i], z2 = q.min[1] + q.step[1] * cz[2 * i + 1];
      b.fillStyle = TAB10[lab[i]];
      b.fillRect(px(z1) - 1.2, py(z2) - 1.2, 2.4, 2.4);
    }
    b.globalAlpha = 1;
    b.fillStyle = "#666"; b.font = "11px sans-serif";
    b.fillText("z₁", size - 16, py(0) - 4); b.fillText("z₂", px(0) + 4, 12);
    for (var d = 0; d < 10; d++) { b.fillStyle = TAB10[d]; b.fillRect(6 + d * 18, size - 14, 8, 8); b.fillStyle = "#333"; b.fillText(String(d), 16 + d * 18, size - 6); }
    function draw() { c.ctx.save(); c.ctx.setTransform(1, 0, 0, 1, 0, 0); c.ctx.drawImage(base, 0, 0); c.ctx.restore(); }
    return { c: c, canvas: c.canvas, ctx: c.ctx, size: size, px: px, py: py, zx: zx, zy: zy, draw: draw, lim: LIM };
  }
  /** Pointer position in CSS pixels of the canvas (it may be scaled down by max-width). */
  function pointer(ev, cnv, size) {
    var r = cnv.getBoundingClientRect();
    return [(ev.clientX - r.left) / r.width * size, (ev.clientY - r.top) / r.height * size];
  }

  var TAB10 = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];

  function frame(el, title, note) {
    el.textContent = "";
    el.setAttribute("role", "group");
    el.setAttribute("aria-label", L(title));
    el.appendChild(h("p", { className: "vaex-title", text: L(title) }));
    if (note) el.appendChild(h("p", { className: "vaex-note", text: L(note) }));
  }

  window.VAEX = {
    lang: lang, L: L, h: h, fmt: fmt, slider: slider, button: button, radios: radios, canvas: canvas,
    drawDigit: drawDigit, rng: rng, loadArrays: loadArrays, encode: encode, decode: decode, decodeBatch: decodeBatch, sigmoid: sigmoid,
    logBernoulli: logBernoulli, logNormalDiag: logNormalDiag, logStdNormal: logStdNormal, klStdNormal: klStdNormal,
    logsumexp: logsumexp, bounds: bounds, plane: plane, pointer: pointer, timed: timed, TAB10: TAB10, frame: frame, readTensors: readTensors,
  };
})();
