"""Korean full-text search for the Sphinx HTML builder.

Sphinx ships no Korean search language: it falls back to splitting at spaces, so "분포" does
not find a page that only says "정규분포와" (a compound noun followed by a particle).

This extension registers the search language ``ko``:

* Python side (:meth:`SearchKorean.split`, used to build ``searchindex.js``): every run of
  Hangul syllables is indexed as itself *and* as all its 2-syllable substrings (bigrams), e.g.
  ``"정규분포와" -> ["정규분포와", "정규", "규분", "분포", "포와"]``. Non-Hangul words are split and
  stemmed exactly as in the English edition (Porter stemmer), so "encoders" finds "encoder".
  Spacing does not matter: two Hangul runs separated only by spaces also give the bigram across
  the space (``"정규 분포" -> [..., "규분"]``), so the query "정규분포" finds a page that writes
  "정규 분포", and the query "정규 분포" (terms 정규, 분포) finds "정규분포".
* JavaScript side (``splitQuery`` and ``Stemmer`` in ``language_data.js``): a Hangul query word
  of two or more syllables becomes its bigrams, after dropping a trailing particle (조사) such as
  을/를/은/는/의/에서 from a word of three or more syllables ("정규분포를" searches "정규분포").
  Sphinx requires every query term to occur in a page, so a page is found exactly when it
  contains all bigrams of the query, which is the case whenever it contains the query word
  anywhere inside a longer word (or split by spaces).
* Ranking and snippets: ``book/_static/search_scorer.js`` (``html_search_scorer``).

Enable it with ``html_search_language = "ko"`` (``language: ko`` alone is enough too).
"""

from __future__ import annotations

import re

import snowballstemmer
from sphinx.application import Sphinx
from sphinx.search import SearchLanguage, languages
from sphinx.search.en import SearchEnglish, english_stopwords

#: One Hangul syllable block (U+AC00..U+D7A3), plus compatibility jamo (U+3131..U+318E).
HANGUL = "\uac00-\ud7a3\u3131-\u318e"
_HANGUL_RUN = re.compile(f"[{HANGUL}]+")
_TOKEN = re.compile(f"[{HANGUL}]+|[^\\W{HANGUL}]+")


def hangul_ngrams(run: str, n: int = 2) -> list[str]:
    """All contiguous ``n``-syllable substrings of ``run`` (empty if ``len(run) < n``)."""
    return [run[i : i + n] for i in range(len(run) - n + 1)]


_JS_SPLITTER = r"""
function splitQuery(query) {
  // Hangul runs become 2-syllable n-grams (as in the index); other words split like Sphinx does.
  var terms = [];
  var words = query.split(/[^\p{Letter}\p{Number}_\p{Emoji_Presentation}]+/gu);
  var particle = /(으로|에서|에게|까지|부터|처럼|보다|이란|이라|을|를|은|는|이|가|의|에|와|과|로|도|만)$/;
  words.forEach(function (word) {
    if (/^[\uac00-\ud7a3]{3,}$/.test(word)) word = word.replace(particle, "");
    var parts = word.match(/[\uac00-\ud7a3\u3131-\u318e]+|[^\uac00-\ud7a3\u3131-\u318e]+/g) || [];
    parts.forEach(function (part) {
      if (/^[\uac00-\ud7a3\u3131-\u318e]+$/.test(part) && part.length > 2) {
        for (var i = 0; i + 2 <= part.length; i++) terms.push(part.substring(i, i + 2));
      } else if (part) {
        terms.push(part);
      }
    });
  });
  return terms;
}
"""

_JS_STEMMER = (
    SearchEnglish.js_stemmer_code.replace("var Stemmer = function", "var PorterStemmer = function", 1)
    + r"""
var Stemmer = function() {
  var porter = new PorterStemmer();
  this.stemWord = function (w) {
    return /[\uac00-\ud7a3\u3131-\u318e]/.test(w) ? w : porter.stemWord(w);
  };
};
"""
)


class SearchKorean(SearchLanguage):
    """Search language ``ko``: Hangul bigrams plus English handling of Latin words."""

    lang = "ko"
    language_name = "Korean"
    stopwords = english_stopwords
    js_splitter_code = _JS_SPLITTER
    js_stemmer_code = _JS_STEMMER

    def init(self, options: dict[str, str]) -> None:
        self.stemmer = snowballstemmer.stemmer("porter")

    def split(self, input: str) -> list[str]:
        """Split text into index terms.

        A Hangul run of length >= 3 gives the run and its bigrams; shorter runs and non-Hangul
        words (``\\w+`` without Hangul) are kept as they are.
        """
        terms: list[str] = []
        previous: re.Match | None = None
        for match in _TOKEN.finditer(input):
            token = match.group(0)
            terms.append(token)
            hangul = bool(_HANGUL_RUN.fullmatch(token))
            if hangul and len(token) > 2:
                terms.extend(hangul_ngrams(token, 2))
            if (hangul and previous is not None and _HANGUL_RUN.fullmatch(previous.group(0))
                    and input[previous.end() : match.start()].isspace()):
                terms.append(previous.group(0)[-1] + token[0])  # the bigram across the space
            previous = match
        return terms

    def stem(self, word: str) -> str:
        """Porter-stem Latin words; Hangul terms are left unchanged."""
        if _HANGUL_RUN.search(word):
            return word
        return self.stemmer.stemWord(word.lower())

    def word_filter(self, word: str) -> bool:
        """Keep every Hangul term (even one syllable); drop English stop words."""
        if _HANGUL_RUN.search(word):
            return True
        return super().word_filter(word)


def setup(app: Sphinx) -> dict[str, object]:
    # Sphinx has no public API for search languages; the registry is this module-level dict.
    languages["ko"] = SearchKorean
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
