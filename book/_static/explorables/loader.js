/* Explorable figures of the VAE book: the small loader every page carries (about 2 kB).
 *
 * Each explorable is a <div class="vae-explorable" data-explorable="NAME">. Nothing else is
 * fetched until the reader scrolls near it (IntersectionObserver) or touches / focuses it; then
 * this loader fetches core.js and NAME.js from the same folder, and NAME.js fetches its data.
 * The module's API (the test hook) becomes window.vaeExplorables[NAME]; the div gets
 * data-state="loading" | "ready" | "error". Without JavaScript the <noscript> content inside the
 * div (a pointer to the chapter's static figure) is what the reader sees.
 */
(function () {
  "use strict";
  var script = document.currentScript;
  var base = script && script.src ? script.src.replace(/[^\/]*$/, "") : "_static/explorables/";
  var version = script && script.dataset && script.dataset.version ? "?v=" + script.dataset.version : "";
  var registry = (window.vaeExplorables = window.vaeExplorables || {});
  var factories = {};
  var loads = {};

  function load(file) {
    if (!loads[file]) {
      loads[file] = new Promise(function (resolve, reject) {
        var s = document.createElement("script");
        s.src = base + file + version;
        s.async = true;
        s.onload = resolve;
        s.onerror = function () { reject(new Error("could not load " + base + file)); };
        document.head.appendChild(s);
      });
    }
    return loads[file];
  }

  Object.defineProperty(registry, "_register", {
    value: function (name, factory) { factories[name] = factory; },
  });
  Object.defineProperty(registry, "_base", { value: base });
  Object.defineProperty(registry, "_version", { value: version });

  function activate(el) {
    if (el.dataset.state) return el._vaeReady;
    var name = el.dataset.explorable;
    el.dataset.state = "loading";
    el._vaeReady = load("core.js")
      .then(function () { return load(name + ".js"); })
      .then(function () {
        if (!factories[name]) throw new Error("no explorable called " + name);
        return factories[name](el, window.VAEX, base);
      })
      .then(function (api) {
        registry[name] = api;
        el.dataset.state = "ready";
        return api;
      })
      .catch(function (err) {
        el.dataset.state = "error";
        var p = document.createElement("p");
        p.className = "vae-explorable-error";
        p.textContent = String(err && err.message ? err.message : err);
        el.appendChild(p);
        throw err;
      });
    return el._vaeReady;
  }

  /** For tests and links: start the explorable NAME now; resolves to its API. */
  Object.defineProperty(registry, "activate", {
    value: function (name) {
      var el = document.querySelector('div.vae-explorable[data-explorable="' + name + '"]');
      return el ? activate(el) : Promise.reject(new Error("no explorable " + name + " on this page"));
    },
  });

  function init() {
    var els = document.querySelectorAll("div.vae-explorable[data-explorable]");
    Array.prototype.forEach.call(els, function (el) {
      el.classList.add("vae-js");
      var start = function () { activate(el).catch(function () {}); };
      el.addEventListener("pointerdown", start, { once: true });
      el.addEventListener("focusin", start, { once: true });
      if ("IntersectionObserver" in window) {
        var io = new IntersectionObserver(function (entries) {
          if (entries.some(function (e) { return e.isIntersecting; })) { io.disconnect(); start(); }
        }, { rootMargin: "300px 0px" });
        io.observe(el);
      } else {
        start();
      }
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
