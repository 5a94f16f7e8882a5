/* blindfold transcript explorer, split into parts: the index of the parts. ASCII-only (the CSP
   allows this script by its sha256). Reads the explorer's filter fragment (#m=MODEL&s=SCAFFOLD
   &p=PROMPT&d=DIMENSION&...), shows how many transcripts of each part it matches and links each
   part with the same fragment, so the part opens with the filter applied. Names go into the
   page as text, never as markup. */
(function () {
  'use strict';
  var data = JSON.parse(document.getElementById('explorer-parts').textContent);
  // Filters the index cannot count (they need the ratings or the text): the part applies them.
  var NARROWING = ['round', 'rater', 'min', 'max', 'dis', 'q'];
  function render() {
    var hash = location.hash;
    var params = new URLSearchParams(hash.replace(/^#/, ''));
    // As in the explorer: a name that is not in the study matches nothing (-2).
    function want(list, key) {
      var v = params.get(key);
      if (!v) return -1;
      var at = list.indexOf(v);
      return at >= 0 ? at : -2;
    }
    var m = want(data.models, 'm'), s = want(data.scaffolds, 's'), p = want(data.prompts, 'p');
    var d = want(data.dims, 'd');
    var narrowed = NARROWING.some(function (k) { return params.get(k); });
    var filtering = m !== -1 || s !== -1 || p !== -1 || d !== -1 || narrowed;
    var total = 0, parts = 0;
    data.parts.forEach(function (part, i) {
      var n = 0;
      if (m !== -2 && s !== -2 && p !== -2 && d !== -2) {
        part.c.forEach(function (c) {
          if ((m === -1 || c[0] === m) && (s === -1 || c[1] === s) && (p === -1 || c[2] === p)) n += c[3];
        });
      }
      total += n;
      if (n) parts++;
      var row = document.getElementById('part-' + (i + 1));
      row.querySelector('a').setAttribute('href', part.file + hash);
      row.querySelector('.matches').textContent = !filtering ? '' : (narrowed && n ? 'up to ' + n : String(n));
      row.dataset.matches = filtering ? String(n) : '';
      row.classList.toggle('none', filtering && n === 0);
    });
    var words = [];
    [['m', 'model'], ['s', 'scaffold'], ['p', 'prompt'], ['d', 'dimension']].forEach(function (k) {
      var v = params.get(k[0]);
      if (v) words.push(k[1] + ' ' + v);
    });
    if (narrowed) words.push('and further filters the part applies');
    document.getElementById('filter').textContent = filtering
      ? 'Filter: ' + words.join(', ') + '. ' + (narrowed ? 'Up to ' : '') + total +
        ' matching transcript' + (total === 1 ? '' : 's') + ' in ' + parts + ' of ' +
        data.parts.length + ' parts; each part opens with the filter applied.'
      : 'No filter: each part opens with all its transcripts.';
    document.body.dataset.ready = 'true';
  }
  window.addEventListener('hashchange', render);
  render();
})();
