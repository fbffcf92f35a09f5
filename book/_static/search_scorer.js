/* Search ranking and snippets of the book (html_search_scorer in _config.yml; Sphinx puts this
 * file into language_data.js, which the search page loads right after searchtools.js).
 *
 * Ranking: Sphinx adds up term scores, so a long page that mentions a word often beats the page
 * whose title IS that word. Here a result whose page title contains the query (spaces and case
 * ignored: "정규 분포" = "정규분포") comes first, a section title second (the front page, whose
 * title is the book's, between the two), then the rest in Sphinx's order.
 *
 * Snippets: the summary under each result is the page text without TeX source (\(q(z\mid x)\)
 * becomes "q(z|x)"), without the language switch, code-cell toggles, copy buttons and heading
 * links.
 */
var Scorer = {
  objNameMatch: 11,
  objPartialMatch: 6,
  objPrio: { 0: 15, 1: 5, 2: -5 },
  objPrioDefault: 0,
  title: 15,
  partialTitle: 7,
  term: 5,
  partialTerm: 2,

  /** lower case, without spaces/punctuation: the form in which titles and queries are compared */
  normalize: function (text) {
    return (text || "").toLowerCase().replace(/[\s\u00a0.,:;!?()\[\]{}'"“”‘’·–—-]+/g, "");
  },

  query: function () {
    if (this._query === undefined) {
      var q = new URLSearchParams(window.location.search).get("q") || "";
      this._query = this.normalize(q);
    }
    return this._query;
  },

  score: function (result) {
    // result = [docname, title, anchor, descr, score, filename]
    var title = result[1] || "", anchor = result[2] || "", score = result[4];
    var q = Scorer.query();
    if (!q) return score;
    var page = title.split(" > ")[0];
    // the front page (chapters/<lang>/index) carries the book's title, which names the whole subject
    // ("Variational Autoencoders..."): a title match there counts less than a chapter's
    var front = /(^|\/)index$/.test(result[0] || "");
    if (!anchor && Scorer.normalize(page).indexOf(q) !== -1) return score + (front ? 600 : 1000);  // the page's title
    if (Scorer.normalize(title).indexOf(q) !== -1) return score + 500;  // a section's title
    return score;
  },
};

/** TeX source of an inline or display formula -> readable text (for snippets only). */
function bookTexToText(tex) {
  var greek = { alpha: "α", beta: "β", gamma: "γ", delta: "δ", epsilon: "ε", varepsilon: "ε", theta: "θ",
    lambda: "λ", mu: "μ", sigma: "σ", phi: "φ", pi: "π", tau: "τ", Sigma: "Σ", Lambda: "Λ", mid: "|",
    Vert: "‖", le: "≤", ge: "≥", leq: "≤", geq: "≥", approx: "≈", sim: "~", infty: "∞", cdot: "·",
    times: "×", to: "→", sum: "Σ", log: "log", exp: "exp", nabla: "∇", partial: "∂", int: "∫" };
  return tex
    .replace(/\\[()\[\]]|\$\$?/g, " ")
    .replace(/\\q?quad\b/g, " ")
    .replace(/\\(?:mathrm|mathbf|mathcal|mathbb|operatorname|text|boldsymbol|tfrac|frac)\s*/g, "")
    .replace(/\\\|/g, "‖")
    .replace(/\\([A-Za-z]+)/g, function (m, name) { return greek[name] || name; })
    .replace(/\\[,;:! ]/g, " ")
    .replace(/[{}_^]/g, "")
    .replace(/\s+/g, " ")
    .trim();
}

if (typeof Search !== "undefined") {
  Search.htmlToText = function (htmlString, anchor) {
    var doc = new DOMParser().parseFromString(htmlString, "text/html");
    var drop = [".headerlink", "script", "style", ".lang-switch-bar", "summary", ".copybtn",
                ".cell_input", "button", ".toggle-details__summary", "mjx-assistive-mml"];
    drop.forEach(function (q) { doc.querySelectorAll(q).forEach(function (el) { el.remove(); }); });
    doc.querySelectorAll(".math .eqno").forEach(function (el) { el.remove(); });
    doc.querySelectorAll(".math").forEach(function (el) {
      el.replaceWith(doc.createTextNode(" " + bookTexToText(el.textContent) + " "));
    });
    var root = doc.querySelector('[role="main"]');
    if (anchor && root) {
      var block = root.querySelector(anchor);
      if (block) return block.textContent;
    }
    return root ? root.textContent : "";
  };
}
