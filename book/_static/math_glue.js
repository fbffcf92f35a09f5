/* Inline math stays on the line of the text it touches.
 *
 * The build (book_site.GlueInlineMath) wraps each inline formula and the comma, bracket or Korean
 * particle touching it in <span class="math-glue">, which book.css keeps on one line. A group wider
 * than its column (a formula almost as wide as a phone's screen, then "를") would widen the page:
 * such a group is let go (class "math-glue-loose") and breaks like plain text. Checked once MathJax
 * has typeset the page, and again when the width changes or hidden content (a solution) is opened.
 */
(() => {
  "use strict";
  const LOOSE = "math-glue-loose";

  /** Width available to inline content in the block that holds `el` (CSS px). */
  function columnWidth(el) {
    let block = el.parentElement;
    while (block && getComputedStyle(block).display.startsWith("inline")) block = block.parentElement;
    if (!block) return Infinity;
    const style = getComputedStyle(block);
    return block.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
  }

  /** Width of the group on one line: the sum of its pieces (a group holds no space to break at). */
  function naturalWidth(group) {
    let width = 0;
    for (const rect of group.getClientRects()) width += rect.width;
    return width;
  }

  function fit() {
    // measure everything first, then change only what must change: the page does not move
    const changes = [];
    for (const g of document.querySelectorAll("span.math-glue")) {
      const width = naturalWidth(g);
      if (width === 0) continue; // hidden (a closed solution): checked when it is opened
      const loose = width > columnWidth(g) + 0.5;
      if (loose !== g.classList.contains(LOOSE)) changes.push([g, loose]);
    }
    changes.forEach(([g, loose]) => g.classList.toggle(LOOSE, loose));
  }

  let timer = 0;
  const later = () => {
    clearTimeout(timer);
    timer = setTimeout(fit, 100);
  };

  function start(tries) {
    const startup = window.MathJax && window.MathJax.startup;
    if (startup && startup.promise) {
      startup.promise.then(fit, fit);
    } else if (tries > 0) {
      setTimeout(() => start(tries - 1), 100);
    } else {
      fit(); // no MathJax (a page without math): the groups hold plain text
    }
  }

  window.addEventListener("resize", later);
  document.addEventListener("toggle", later, true); // <details> opened or closed
  document.addEventListener("click", later); // togglebutton's solutions, tabs
  start(300);
})();
