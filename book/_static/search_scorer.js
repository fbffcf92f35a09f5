/* Search ranking and snippets of the book (html_search_scorer in _config.yml; Sphinx puts this
 * file into language_data.js, which the search page loads right after searchtools.js).
 *
 * Ranking: Sphinx adds up term scores, so a long page that mentions a word often beats the page
 * whose title IS that word. Here a result whose page title contains the query (spaces and case
 * ignored: "정규 분포" = "정규분포") comes first, a section title second (the front page, whose
 * title is the book's, between the two), then the pages that contain every query word WHOLE
 * (the Korean index also holds 2-syllable pieces, so "정규분포" finds a page through 정규 + 규분 +
 * 분포; a page that has the word 정규분포 itself ranks above one that only has the pieces; an
 * English word matched exactly ranks above a partial match), then the rest in Sphinx's order.
 * Each page is listed once: its best entry (a page and its own section used to fill two of the
 * top three places).
 *
 * Snippets: the summary under each result is the text of the article (not the page's contents
 * list, the header buttons or the folded code), without TeX source (\(q(z\mid x)\) becomes
 * "q(z|x)"), starting near the first place where the whole query (else a whole query word)
 * occurs; the highlighted words are the whole query words, not the 2-syllable pieces.
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

  /** the query's words as a reader wrote them: Korean particles dropped ("정규분포를" -> "정규분포") */
  words: function () {
    if (this._words === undefined) {
      var q = new URLSearchParams(window.location.search).get("q") || "";
      var particle = /(으로|에서|에게|까지|부터|처럼|보다|이란|이라|을|를|은|는|이|가|의|에|와|과|로|도|만)$/;
      this._words = q.toLowerCase().split(/[^\p{Letter}\p{Number}_]+/u).filter(Boolean).map(function (w) {
        return /^[\uac00-\ud7a3]{3,}$/.test(w) ? w.replace(particle, "") : w;
      });
    }
    return this._words;
  },

  /** docnames that contain every query word whole (Hangul: inside one indexed word; Latin: the exact stem) */
  wholeWordDocs: function () {
    if (this._whole !== undefined) return this._whole;
    var index = typeof Search !== "undefined" && Search._index;
    if (!index) return null;
    var stemmer = typeof Stemmer !== "undefined" ? new Stemmer() : null;
    var docs = null;
    var add = function (set, files) {
      if (files === undefined) return;
      (files.length === undefined ? [files] : files).forEach(function (f) { set.add(index.docnames[f]); });
    };
    Scorer.words().forEach(function (word) {
      var found = new Set();
      if (/[\uac00-\ud7a3]/.test(word)) {
        // a 2-syllable index term may be a piece (a bigram of a longer word, or one across a space: "변수가
        // 중요" gives 가중): a whole word is inside a longer indexed run (가중치, 분포를), or is a title's word
        [index.terms, index.titleterms].forEach(function (table) {
          Object.keys(table).forEach(function (term) {
            if (term.indexOf(word) !== -1 && (term.length > 2 || (table === index.titleterms && term === word))) add(found, table[term]);
          });
        });
      } else {
        var stem = stemmer ? stemmer.stemWord(word) : word;
        add(found, index.terms[stem]);
        add(found, index.titleterms[stem]);
      }
      docs = docs === null ? found : new Set(Array.from(docs).filter(function (d) { return found.has(d); }));
    });
    this._whole = docs;
    return docs;
  },

  /** docname -> [section title, anchor] of the first section whose title contains the query (Sphinx
   *  lists a section title only when the query is at least half of it: "사후 붕괴" did not find
   *  "사후 붕괴와 활성 유닛", so the page whose section it is got no title boost) */
  sectionTitles: function () {
    if (this._sections !== undefined) return this._sections;
    var index = typeof Search !== "undefined" && Search._index, q = Scorer.query(), found = {};
    if (index && q) {
      Object.keys(index.alltitles).forEach(function (title) {
        if (Scorer.normalize(title).indexOf(q) === -1) return;
        index.alltitles[title].forEach(function (entry) {
          var doc = index.docnames[entry[0]];
          if (entry[1] && !(doc in found)) found[doc] = [title, entry[1]];
        });
      });
    }
    this._sections = found;
    return found;
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
    var section = !anchor && Scorer.sectionTitles()[result[0]];
    if (section) {  // a page found by its text that has a section with the query in its title: link the section
      result[1] = page + " > " + section[0];
      result[2] = "#" + section[1];
      return score + 500;
    }
    var whole = Scorer.wholeWordDocs();
    if (whole && whole.has(result[0])) return score + 200;  // every query word, whole, in the text
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
  // each page once: its best-scoring entry (results are in ascending order; the last is shown first)
  var bookPerformSearch = Search._performSearch;
  Search._performSearch = function () {
    var results = bookPerformSearch.apply(Search, arguments);
    var seen = new Set(), kept = [];
    for (var i = results.length - 1; i >= 0; i--) {
      if (seen.has(results[i][0])) continue;
      seen.add(results[i][0]);
      kept.push(results[i]);
    }
    return kept.reverse();
  };

  // highlight the whole query words, not the 2-syllable pieces the Korean index looks up
  var bookParseQuery = Search._parseQuery;
  Search._parseQuery = function (query) {
    var parsed = bookParseQuery.apply(Search, arguments);
    var highlight = new Set();
    Scorer.words().forEach(function (w) { if (w.length > 1) highlight.add(w); });
    parsed[3].forEach(function (t) { if (!/[\uac00-\ud7a3]/.test(t)) highlight.add(t); });
    parsed[3] = highlight;
    if (typeof SPHINX_HIGHLIGHT_ENABLED !== "undefined" && SPHINX_HIGHLIGHT_ENABLED) {
      localStorage.setItem("sphinx_highlight_terms", Array.from(highlight).join(" "));
    }
    return parsed;
  };

  // the snippet starts near the whole query (else a whole query word, else Sphinx's choice)
  var bookSummary = Search.makeSearchSummary;
  Search.makeSearchSummary = function (htmlText, keywords, anchor) {
    var text = Search.htmlToText(htmlText, anchor);
    if (!text) return null;
    text = text.replace(/\s+/g, " ").trim();
    var lower = text.toLowerCase();
    var raw = (new URLSearchParams(window.location.search).get("q") || "").toLowerCase().trim();
    var at = raw ? lower.indexOf(raw) : -1;
    if (at < 0) {
      Scorer.words().forEach(function (w) {
        var i = lower.indexOf(w);
        if (i > -1 && (at < 0 || i < at)) at = i;
      });
    }
    if (at < 0) return bookSummary.call(Search, htmlText, keywords, anchor);
    var start = Math.max(at - 80, 0);
    var summary = document.createElement("p");
    summary.classList.add("context");
    summary.textContent = (start ? "..." : "") + text.substr(start, 240).trim() + (start + 240 < text.length ? "..." : "");
    return summary;
  };

  Search.htmlToText = function (htmlString, anchor) {
    var doc = new DOMParser().parseFromString(htmlString, "text/html");
    var drop = [".headerlink", "script", "style", ".lang-switch-bar", "summary", ".copybtn",
                ".cell_input", "button", ".toggle-details__summary", "mjx-assistive-mml",
                ".bd-sidebar-secondary", ".bd-toc", "nav", ".header-article", ".prev-next-area", "footer",
                ".toctree-wrapper", "details.check-fold", ".cell.check-cell", "#searchbox"];
    drop.forEach(function (q) { doc.querySelectorAll(q).forEach(function (el) { el.remove(); }); });
    doc.querySelectorAll(".math .eqno").forEach(function (el) { el.remove(); });
    doc.querySelectorAll(".math").forEach(function (el) {
      el.replaceWith(doc.createTextNode(" " + bookTexToText(el.textContent) + " "));
    });
    var root = doc.querySelector("article.bd-article") || doc.querySelector('[role="main"]');
    if (anchor && root) {
      var block = root.querySelector(anchor);
      if (block) return block.textContent;
    }
    return root ? root.textContent : "";
  };
}
