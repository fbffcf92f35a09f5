/* The language switch keeps the reader's place (book/_ext/lang_switch.py).
 * On a click, the link to the twin page gets the section the reader is in: the URL's #anchor when
 * there is one, else the section at the top of the window, as its id and as its position among the
 * page's sections (?sec=N). The twins have the same sections in the same order and the same labels
 * (sec-ch04-gibbs), but headings without a label get ids from their text, which differ between the
 * languages: the twin page scrolls to section N when it has no element with the id. */
(function () {
  "use strict";
  function sections() {
    return Array.prototype.slice.call(document.querySelectorAll("article.bd-article section[id]"));
  }
  function current() {
    var list = sections(), hash = decodeURIComponent((location.hash || "").slice(1));
    if (hash) {
      var target = document.getElementById(hash);
      if (target) {
        var sec = target.closest("section[id]");
        return { id: hash, index: sec ? list.indexOf(sec) : -1 };
      }
    }
    var best = -1;
    for (var i = 0; i < list.length; i++) {
      if (list[i].getBoundingClientRect().top <= 90) best = i;
    }
    return best > 0 ? { id: list[best].id, index: best } : null;
  }
  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("a.lang-switch");
    if (!link) return;
    var place = current();
    if (!place) return;
    var url = link.getAttribute("href").split("#")[0].split("?")[0];
    link.setAttribute("href", url + (place.index > 0 ? "?sec=" + place.index : "") + "#" + encodeURIComponent(place.id));
  });
  function arrive() {
    var params = new URLSearchParams(location.search), n = parseInt(params.get("sec") || "", 10);
    var hash = decodeURIComponent((location.hash || "").slice(1));
    if (!n || (hash && document.getElementById(hash))) return;
    var target = sections()[n];
    if (target) target.scrollIntoView();
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", arrive);
  else arrive();
})();
