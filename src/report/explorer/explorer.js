/* blindfold transcript explorer. ASCII-only (the CSP allows this script by its sha256).
   Reads the index block at load, the rendered messages block on first use. Every text that is
   not a sanitised message (ids, names, comments) goes into the page as text, never as markup.
   The state lives in the URL fragment (#m=MODEL&s=SCAFFOLD&...), so report.html can link to a
   condition and a view can be bookmarked. */
(function () {
  'use strict';
  var started = performance.now();
  var ROW = 30;
  var idx = JSON.parse(document.getElementById('explorer-index').textContent);
  var bodies = null;
  function body(i) {
    if (!bodies) bodies = JSON.parse(document.getElementById('explorer-bodies').textContent);
    return bodies[i];
  }
  var D = idx.dims.length;
  var N = idx.t.length;
  var ROLES = ['System prompt \u2014 set by the scaffold; raters never saw it', 'User', 'Assistant'];
  var ROLE_CLASS = ['system', 'user', 'assistant'];

  // ---------- derived columns, computed once
  var tModel = new Int32Array(N), tScaffold = new Int32Array(N), tPrompt = new Int32Array(N);
  var tRepeat = new Int32Array(N);
  var byCell = Object.create(null);
  var ratingsOf = new Array(N);
  var i, k, d;
  for (i = 0; i < N; i++) {
    var t = idx.t[i];
    tModel[i] = t[1]; tScaffold[i] = t[2]; tPrompt[i] = t[3]; tRepeat[i] = t[4];
    byCell[t[0]] = i;
    ratingsOf[i] = [];
  }
  for (k = 0; k < idx.r.length; k++) ratingsOf[idx.r[k][0]].push(k);
  var mean = new Float64Array(N * D), judgeMean = new Float64Array(N * D);
  var spread = new Float64Array(N * D), maxSpread = new Float64Array(N);
  var tRounds = new Array(N), tRaters = new Array(N), tText = new Array(N), tComment = new Array(N);
  for (i = 0; i < N; i++) {
    var rs = ratingsOf[i], rounds = [], raters = [], text = [], first = '', firstBy = 0;
    var sum = new Float64Array(D), cnt = new Int32Array(D), jsum = new Float64Array(D), jcnt = new Int32Array(D);
    var lo = new Float64Array(D).fill(Infinity), hi = new Float64Array(D).fill(-Infinity);
    for (k = 0; k < rs.length; k++) {
      var r = idx.r[rs[k]], judge = idx.judges[r[1]];
      if (rounds.indexOf(r[2]) < 0) rounds.push(r[2]);
      if (raters.indexOf(r[1]) < 0) raters.push(r[1]);
      if (r[4]) { text.push(r[4]); if (!first || (judge === false && idx.judges[firstBy])) { first = r[4]; firstBy = r[1]; } }
      if (r[5]) text.push(r[5]);
      for (d = 0; d < D; d++) {
        var s = r[3][d];
        if (s === null || s === undefined) continue;
        if (judge) { jsum[d] += s; jcnt[d]++; continue; }
        sum[d] += s; cnt[d]++;
        if (s < lo[d]) lo[d] = s;
        if (s > hi[d]) hi[d] = s;
      }
    }
    var worst = NaN;
    for (d = 0; d < D; d++) {
      mean[i * D + d] = cnt[d] ? sum[d] / cnt[d] : NaN;
      judgeMean[i * D + d] = jcnt[d] ? jsum[d] / jcnt[d] : NaN;
      spread[i * D + d] = cnt[d] >= 2 ? hi[d] - lo[d] : NaN;
      if (cnt[d] >= 2 && !(worst >= hi[d] - lo[d])) worst = hi[d] - lo[d];
    }
    maxSpread[i] = worst;
    tRounds[i] = rounds; tRaters[i] = raters;
    tText[i] = text.join('\n').toLowerCase();
    tComment[i] = first;
  }

  // ---------- state, in the URL fragment
  var KEYS = ['m', 's', 'p', 'round', 'rater', 'd', 'min', 'max', 'dis', 'q', 'sort', 'dir', 'open', 'view', 'by', 'cm', 'cs', 'cp'];
  var DEFAULTS = { sort: 'condition', dir: 'asc', view: 'list', by: 'scaffold' };
  var state = {};
  function readFragment() {
    var params = new URLSearchParams(location.hash.replace(/^#/, ''));
    state = {};
    KEYS.forEach(function (key) { state[key] = params.get(key) || DEFAULTS[key] || ''; });
    syncIndexLink();
  }
  function writeFragment() {
    var params = new URLSearchParams();
    KEYS.forEach(function (key) {
      if (state[key] && state[key] !== DEFAULTS[key]) params.set(key, state[key]);
    });
    var text = params.toString();
    history.replaceState(null, '', text ? '#' + text : location.pathname + location.search);
    syncIndexLink();
  }
  // A part of a split explorer links back to its index with the same filters.
  function syncIndexLink() {
    var toIndex = document.getElementById('to-index');
    if (toIndex) toIndex.setAttribute('href', 'index.html' + location.hash);
  }
  function find(list, name) { return name ? list.indexOf(name) : -1; }
  function dimIndex() { var x = find(idx.dims.map(function (v) { return v[0]; }), state.d); return x; }

  // ---------- filtering and sorting
  var filtered = new Int32Array(0);
  function raterScore(t, rater, d) {
    var rs = ratingsOf[t];
    for (var k = 0; k < rs.length; k++) {
      var r = idx.r[rs[k]];
      if (r[1] === rater && r[3][d] !== null && r[3][d] !== undefined) return r[3][d];
    }
    return NaN;
  }
  function score(t, d, rater) { return rater >= 0 ? raterScore(t, rater, d) : mean[t * D + d]; }
  function num(text) { return text === '' || text === undefined ? NaN : Number(text); }
  function applyFilters() {
    // A name that is not in this explorer matches nothing (-2), rather than everything.
    function want(list, name) { return name ? (list.indexOf(name) >= 0 ? list.indexOf(name) : -2) : -1; }
    var m = want(idx.models, state.m), s = want(idx.scaffolds, state.s), p = want(idx.prompts, state.p);
    var round = want(idx.rounds, state.round), rater = want(idx.raters, state.rater);
    var d = state.d ? (dimIndex() >= 0 ? dimIndex() : -2) : -1;
    var lo = num(state.min), hi = num(state.max), dis = num(state.dis);
    var q = state.q.trim().toLowerCase();
    var out = new Int32Array(N), n = 0;
    if (d === -2) { filtered = out.subarray(0, 0); return; }
    var dd = d >= 0 ? d : 0;
    for (var t = 0; t < N; t++) {
      if (m !== -1 && tModel[t] !== m) continue;
      if (s !== -1 && tScaffold[t] !== s) continue;
      if (p !== -1 && tPrompt[t] !== p) continue;
      if (round !== -1 && tRounds[t].indexOf(round) < 0) continue;
      if (rater !== -1 && tRaters[t].indexOf(rater) < 0) continue;
      if (D && (lo === lo || hi === hi)) {
        var v = score(t, dd, rater);
        if (v !== v || (lo === lo && v < lo) || (hi === hi && v > hi)) continue;
      }
      if (dis === dis) {
        var sp = d >= 0 ? spread[t * D + d] : maxSpread[t];
        if (!(sp >= dis)) continue;
      }
      if (q && tText[t].indexOf(q) < 0) continue;
      out[n++] = t;
    }
    filtered = out.subarray(0, n);
    sortFiltered(dd, rater);
  }
  function condition(a, b) {
    return tModel[a] - tModel[b] || tScaffold[a] - tScaffold[b] || tPrompt[a] - tPrompt[b] ||
      tRepeat[a] - tRepeat[b] || a - b;
  }
  function sortFiltered(d, rater) {
    var key = null, by = state.sort, sign = state.dir === 'desc' ? -1 : 1;
    if (by === 'model') key = function (t) { return tModel[t]; };
    else if (by === 'scaffold') key = function (t) { return tScaffold[t]; };
    else if (by === 'prompt') key = function (t) { return tPrompt[t]; };
    else if (by === 'round') key = function (t) { return tRounds[t].length ? Math.min.apply(null, tRounds[t]) : NaN; };
    else if (by === 'score') key = function (t) { return D ? score(t, d, rater) : NaN; };
    else if (by === 'judge') key = function (t) { return D ? judgeMean[t * D + d] : NaN; };
    else if (by === 'spread') key = function (t) { return state.d ? spread[t * D + d] : maxSpread[t]; };
    else if (by === 'ratings') key = function (t) { return ratingsOf[t].length; };
    else if (by === 'comment') key = null;
    var arr = Array.prototype.slice.call(filtered);
    if (by === 'comment') {
      arr.sort(function (a, b) {
        var x = tComment[a], y = tComment[b];
        if (!x !== !y) return x ? -1 : 1;
        return sign * (x < y ? -1 : x > y ? 1 : 0) || condition(a, b);
      });
    } else if (key) {
      var keys = new Float64Array(N);
      for (var k = 0; k < arr.length; k++) keys[arr[k]] = key(arr[k]);
      arr.sort(function (a, b) {
        var x = keys[a], y = keys[b];
        // Missing values last, whichever the direction.
        if (x !== x || y !== y) return (x !== x) - (y !== y) || condition(a, b);
        return sign * (x - y) || condition(a, b);
      });
    } else {
      arr.sort(function (a, b) { return sign * condition(a, b); });
    }
    filtered = Int32Array.from(arr);
  }

  // ---------- DOM helpers
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function fmt(x, digits) { return x === x ? x.toFixed(digits === undefined ? 2 : digits) : '\u2013'; }
  function option(select, value, text) {
    var o = el('option', null, text);
    o.value = value;
    select.appendChild(o);
  }
  function labelled(form, text, control) {
    var l = el('label', null, text);
    l.appendChild(control);
    form.appendChild(l);
    return control;
  }
  function select(id, first, values, names) {
    var s = el('select');
    s.id = id;
    option(s, '', first);
    values.forEach(function (v, i) { option(s, v, names ? names[i] : v); });
    return s;
  }
  function input(id, type, placeholder) {
    var x = el('input');
    x.id = id; x.type = type;
    if (placeholder) x.placeholder = placeholder;
    if (type === 'number') x.step = 'any';
    return x;
  }

  // ---------- the page
  var app = document.getElementById('app');
  app.textContent = '';
  var listView = el('div', 'listview');
  var form = el('form', 'filters');
  form.setAttribute('aria-label', 'Filters');
  var dimIds = idx.dims.map(function (v) { return v[0]; });
  var judgeNote = idx.raters.map(function (r, i) { return idx.judges[i] ? r + ' (judge)' : r; });
  var controls = {
    m: labelled(form, 'Model', select('f-m', 'all models', idx.models)),
    s: labelled(form, 'Scaffold', select('f-s', 'all scaffolds', idx.scaffolds)),
    p: labelled(form, 'Prompt', select('f-p', 'all prompts', idx.prompts)),
    round: labelled(form, 'Round', select('f-round', 'all rounds', idx.rounds)),
    rater: labelled(form, 'Rater', select('f-rater', 'all raters', idx.raters, judgeNote)),
    d: labelled(form, 'Dimension', select('f-d', 'every dimension', dimIds)),
    min: labelled(form, 'Score from', input('f-min', 'number')),
    max: labelled(form, 'to', input('f-max', 'number')),
    dis: labelled(form, 'Disagreement \u2265', input('f-dis', 'number')),
    q: labelled(form, 'Comment contains', input('f-q', 'search', 'text')),
    sort: labelled(form, 'Sort by', select('f-sort', 'condition',
      ['model', 'scaffold', 'prompt', 'round', 'score', 'judge', 'spread', 'ratings', 'comment'],
      ['model', 'scaffold', 'prompt', 'round', 'score', 'judge\u2019s score', 'disagreement', 'number of ratings', 'comment'])),
    dir: labelled(form, 'Order', select('f-dir', 'ascending', ['desc'], ['descending']))
  };
  controls.sort.options[0].value = 'condition';
  controls.dir.options[0].value = 'asc';
  var reset = el('button', null, 'Clear filters');
  reset.type = 'button';
  reset.id = 'f-reset';
  form.appendChild(reset);
  form.addEventListener('submit', function (e) { e.preventDefault(); });
  listView.appendChild(form);
  var count = el('p', 'count');
  count.id = 'count';
  count.setAttribute('aria-live', 'polite');
  listView.appendChild(count);
  var panes = el('div', 'panes');
  var listPane = el('div', 'listpane');
  var head = el('div', 'listhead');
  head.setAttribute('aria-hidden', 'true');
  var list = el('div', 'list');
  list.id = 'list';
  list.tabIndex = 0;
  list.setAttribute('role', 'listbox');
  list.setAttribute('aria-label', 'Transcripts (arrow keys to move, Enter to open)');
  var spacer = el('div', 'spacer');
  list.appendChild(spacer);
  listPane.appendChild(head);
  listPane.appendChild(list);
  var detail = el('section', 'detail');
  detail.id = 'detail';
  detail.setAttribute('aria-label', 'Transcript');
  detail.tabIndex = -1;
  panes.appendChild(listPane);
  panes.appendChild(detail);
  listView.appendChild(panes);
  var compareView = el('div', 'compare');
  compareView.id = 'compare';
  compareView.hidden = true;
  app.appendChild(listView);
  app.appendChild(compareView);

  // Columns of the list: condition, then each dimension's score, disagreement and a comment.
  var COLS = ['Model', 'Scaffold', 'Prompt', 'Rep', 'Round'];
  var template = 'minmax(5em,1.1fr) minmax(5em,1.1fr) minmax(5em,1.2fr) 2.2em minmax(3em,0.8fr)';
  COLS.forEach(function (c, i) { head.appendChild(el('span', i === 3 ? 'num' : null, c)); });
  idx.dims.forEach(function (dim) {
    var h = el('span', 'num', dim[0]);
    h.title = dim[0] + ': mean of the human raters (or the chosen rater\u2019s score)';
    head.appendChild(h);
    template += ' 3.6em';
  });
  head.appendChild(el('span', 'num', 'Spread'));
  head.appendChild(el('span', null, 'Comment'));
  template += ' 3.4em minmax(4em,1.5fr)';
  listPane.style.setProperty('--cols', template);

  // ---------- the virtualised list
  var active = 0, pool = [];
  function rowFor(slot) {
    while (pool.length <= slot) {
      var row = el('div', 'row');
      row.setAttribute('role', 'option');
      var cells = [];
      for (var c = 0; c < COLS.length + D + 2; c++) {
        var span = el('span', (c === 3 || (c >= COLS.length && c < COLS.length + D + 1)) ? 'num' : (c === COLS.length + D + 1 ? 'comment' : null));
        row.appendChild(span);
        cells.push(span);
      }
      row.cells_ = cells;
      row.addEventListener('click', onRowClick);
      spacer.appendChild(row);
      pool.push(row);
    }
    return pool[slot];
  }
  function onRowClick(e) {
    var at = Number(e.currentTarget.dataset.at);
    setActive(at);
    openTranscript(filtered[at]);
    list.focus({ preventScroll: true });
  }
  function renderList() {
    spacer.style.height = (filtered.length * ROW) + 'px';
    var top = list.scrollTop, height = list.clientHeight || 600;
    var from = Math.max(0, Math.floor(top / ROW) - 8);
    var to = Math.min(filtered.length, Math.ceil((top + height) / ROW) + 8);
    var rater = find(idx.raters, state.rater);
    var openAt = state.open ? byCell[state.open] : -1;
    var slot = 0;
    for (var at = from; at < to; at++, slot++) {
      var t = filtered[at], row = rowFor(slot), c = row.cells_;
      row.hidden = false;
      row.id = 'row-' + at;
      row.dataset.at = at;
      row.dataset.cell = idx.t[t][0];
      row.style.transform = 'translateY(' + (at * ROW) + 'px)';
      row.className = 'row' + (at === active ? ' active' : '') + (t === openAt ? ' open' : '');
      row.setAttribute('aria-selected', at === active ? 'true' : 'false');
      c[0].textContent = idx.models[tModel[t]];
      c[1].textContent = idx.scaffolds[tScaffold[t]];
      c[2].textContent = idx.prompts[tPrompt[t]];
      c[3].textContent = tRepeat[t];
      c[4].textContent = tRounds[t].map(function (x) { return idx.rounds[x]; }).join(', ');
      for (var d = 0; d < D; d++) c[5 + d].textContent = fmt(score(t, d, rater));
      var sp = state.d && dimIndex() >= 0 ? spread[t * D + dimIndex()] : maxSpread[t];
      c[5 + D].textContent = fmt(sp, 0);
      c[6 + D].textContent = tComment[t];
      c[6 + D].title = tComment[t];
    }
    for (; slot < pool.length; slot++) pool[slot].hidden = true;
    if (filtered.length && active < filtered.length) list.setAttribute('aria-activedescendant', 'row-' + active);
    else list.removeAttribute('aria-activedescendant');
  }
  var pending = false;
  list.addEventListener('scroll', function () {
    if (pending) return;
    pending = true;
    requestAnimationFrame(function () { pending = false; renderList(); });
  });
  window.addEventListener('resize', function () { renderList(); });
  function setActive(at) {
    if (!filtered.length) return;
    active = Math.max(0, Math.min(filtered.length - 1, at));
    var top = active * ROW, h = list.clientHeight;
    if (top < list.scrollTop) list.scrollTop = top;
    else if (top + ROW > list.scrollTop + h) list.scrollTop = top + ROW - h;
    renderList();
  }
  list.addEventListener('keydown', function (e) {
    var page = Math.max(1, Math.floor(list.clientHeight / ROW) - 1);
    var moves = { ArrowDown: 1, ArrowUp: -1, PageDown: page, PageUp: -page, j: 1, k: -1 };
    if (e.key in moves) { setActive(active + moves[e.key]); e.preventDefault(); }
    else if (e.key === 'Home') { setActive(0); e.preventDefault(); }
    else if (e.key === 'End') { setActive(filtered.length - 1); e.preventDefault(); }
    else if (e.key === 'Enter' || e.key === ' ') {
      if (filtered.length) openTranscript(filtered[active]);
      e.preventDefault();
    }
  });

  // ---------- one transcript in full
  function scoresTable(t) {
    var table = el('table', 'scores');
    var thead = el('thead'), tr = el('tr');
    tr.appendChild(el('th', null, 'Rater'));
    tr.appendChild(el('th', null, 'Round'));
    idx.dims.forEach(function (dim) { tr.appendChild(el('th', 'num', dim[0])); });
    tr.appendChild(el('th', null, 'Comment'));
    tr.appendChild(el('th', null, 'Identity guess'));
    thead.appendChild(tr);
    table.appendChild(thead);
    var tbody = el('tbody');
    var rs = ratingsOf[t].slice().sort(function (a, b) {
      return idx.judges[idx.r[a][1]] - idx.judges[idx.r[b][1]] || idx.r[a][1] - idx.r[b][1] || idx.r[a][2] - idx.r[b][2];
    });
    rs.forEach(function (k) {
      var r = idx.r[k], row = el('tr');
      var who = el('td', null, idx.raters[r[1]]);
      if (idx.judges[r[1]]) who.appendChild(el('span', 'tag', 'judge'));
      row.appendChild(who);
      row.appendChild(el('td', null, idx.rounds[r[2]]));
      for (var d = 0; d < D; d++) row.appendChild(el('td', 'num', r[3][d] === null ? '\u2013' : r[3][d]));
      row.appendChild(el('td', 'comment', r[4]));
      row.appendChild(el('td', null, r[5]));
      tbody.appendChild(row);
    });
    if (!rs.length) {
      var none = el('tr'), cell = el('td', 'empty', 'No ratings.');
      cell.colSpan = D + 4;
      none.appendChild(cell);
      tbody.appendChild(none);
    }
    table.appendChild(tbody);
    var tfoot = el('tfoot');
    [['Mean of raters', mean], ['Judges', judgeMean]].forEach(function (line) {
      var row = el('tr');
      row.appendChild(el('th', null, line[0]));
      row.appendChild(el('td'));
      for (var d = 0; d < D; d++) row.appendChild(el('td', 'num', fmt(line[1][t * D + d])));
      row.appendChild(el('td'));
      row.appendChild(el('td'));
      tfoot.appendChild(row);
    });
    table.appendChild(tfoot);
    return table;
  }
  function conversation(t) {
    var box = el('div', 'conversation');
    body(t).forEach(function (m) {
      var msg = el('div', 'msg ' + ROLE_CLASS[m[0]]);
      msg.appendChild(el('div', 'role', ROLES[m[0]]));
      var md = el('div', 'md');
      // Sanitised by blindfold (pulldown-cmark + ammonia, as in the packets) when the page was
      // written; the CSP stops anything that might have slipped through.
      md.innerHTML = m[1];
      msg.appendChild(md);
      box.appendChild(msg);
    });
    return box;
  }
  function openTranscript(t) {
    state.open = idx.t[t][0];
    writeFragment();
    showDetail();
    renderList();
  }
  function showDetail() {
    detail.textContent = '';
    var t = state.open ? byCell[state.open] : undefined;
    if (t === undefined) {
      detail.appendChild(el('p', 'empty', N ? 'Choose a transcript (click it, or move with the arrow keys and press Enter).' : 'No un-blinded transcripts.'));
      return;
    }
    var m = idx.models[tModel[t]], s = idx.scaffolds[tScaffold[t]], p = idx.prompts[tPrompt[t]];
    detail.appendChild(el('h2', null, m + ' \u00b7 ' + s + ' \u00b7 ' + p));
    var meta = el('p', 'meta', 'repeat ' + tRepeat[t] + ' \u00b7 rounds ' +
      tRounds[t].map(function (x) { return idx.rounds[x]; }).join(', ') + ' \u00b7 cell ');
    meta.appendChild(el('code', null, idx.t[t][0]));
    detail.appendChild(meta);
    var actions = el('div', 'actions');
    var acrossScaffolds = el('button', null, 'Side by side: ' + p + ' across scaffolds for ' + m);
    acrossScaffolds.id = 'compare-scaffolds';
    acrossScaffolds.type = 'button';
    acrossScaffolds.addEventListener('click', function () { compare('scaffold', m, s, p); });
    var acrossModels = el('button', null, 'Side by side: ' + p + ' across models for ' + s);
    acrossModels.id = 'compare-models';
    acrossModels.type = 'button';
    acrossModels.addEventListener('click', function () { compare('model', m, s, p); });
    actions.appendChild(acrossScaffolds);
    actions.appendChild(acrossModels);
    detail.appendChild(actions);
    detail.appendChild(scoresTable(t));
    detail.appendChild(conversation(t));
    detail.scrollTop = 0;
  }

  // ---------- side by side
  function compare(by, m, s, p) {
    state.view = 'compare';
    state.by = by;
    state.cm = m; state.cs = s; state.cp = p;
    writeFragment();
    render();
    var first = document.getElementById('c-by');
    if (first) first.focus();
  }
  function showCompare() {
    compareView.textContent = '';
    var bar = el('form', 'filters');
    bar.setAttribute('aria-label', 'Side by side');
    bar.addEventListener('submit', function (e) { e.preventDefault(); });
    var by = labelled(bar, 'Columns', select('c-by', 'scaffolds (one model)', ['model'], ['models (one scaffold)']));
    by.options[0].value = 'scaffold';
    by.value = state.by === 'model' ? 'model' : 'scaffold';
    var across = state.by === 'model' ? 'model' : 'scaffold';
    var fixed = across === 'scaffold'
      ? labelled(bar, 'Model', select('c-fixed', '(choose)', idx.models))
      : labelled(bar, 'Scaffold', select('c-fixed', '(choose)', idx.scaffolds));
    fixed.value = across === 'scaffold' ? state.cm : state.cs;
    var prompt = labelled(bar, 'Prompt', select('c-p', '(choose)', idx.prompts));
    prompt.value = state.cp;
    var back = el('button', null, 'Back to the list');
    back.type = 'button';
    back.id = 'c-back';
    bar.appendChild(back);
    by.addEventListener('change', function () { state.by = by.value; writeFragment(); render(); document.getElementById('c-by').focus(); });
    fixed.addEventListener('change', function () {
      if (across === 'scaffold') state.cm = fixed.value; else state.cs = fixed.value;
      writeFragment(); render(); document.getElementById('c-fixed').focus();
    });
    prompt.addEventListener('change', function () { state.cp = prompt.value; writeFragment(); render(); document.getElementById('c-p').focus(); });
    back.addEventListener('click', function () {
      state.view = 'list'; writeFragment(); render();
      list.focus();
    });
    compareView.appendChild(bar);
    var columns = el('div', 'columns');
    columns.id = 'columns';
    var fm = find(idx.models, state.cm), fs = find(idx.scaffolds, state.cs), fp = find(idx.prompts, state.cp);
    var names = across === 'scaffold' ? idx.scaffolds : idx.models;
    names.forEach(function (name, c) {
      var col = el('section', 'column');
      col.dataset.column = name;
      col.appendChild(el('h3', null, name));
      var ts = [];
      for (var t = 0; t < N; t++) {
        if (tPrompt[t] !== fp) continue;
        if (across === 'scaffold' ? (tModel[t] !== fm || tScaffold[t] !== c) : (tScaffold[t] !== fs || tModel[t] !== c)) continue;
        ts.push(t);
      }
      ts.sort(function (a, b) { return tRepeat[a] - tRepeat[b]; });
      if (!ts.length) col.appendChild(el('p', 'empty', 'No un-blinded transcript for this prompt.'));
      ts.forEach(function (t) {
        var summary = el('p', 'summary');
        summary.appendChild(el('span', null, ts.length > 1 ? 'repeat ' + tRepeat[t] + ': ' : ''));
        idx.dims.forEach(function (dim, d) {
          summary.appendChild(el('b', null, dim[0] + ' '));
          summary.appendChild(el('span', null, fmt(mean[t * D + d]) + (d + 1 < D ? ' \u00b7 ' : '')));
        });
        col.appendChild(summary);
        col.appendChild(conversation(t));
        col.appendChild(el('h4', null, 'Scores' + (ts.length > 1 ? ' (repeat ' + tRepeat[t] + ')' : '')));
        col.appendChild(scoresTable(t));
      });
      columns.appendChild(col);
    });
    compareView.appendChild(columns);
  }

  // ---------- wiring
  function syncControls() {
    Object.keys(controls).forEach(function (key) {
      var c = controls[key];
      // The field being typed in keeps its text ("1." is no number yet, but will be).
      if (c === document.activeElement && c.tagName === 'INPUT') return;
      if (c.tagName === 'SELECT' && state[key] && !Array.prototype.some.call(c.options, function (o) { return o.value === state[key]; })) {
        option(c, state[key], state[key] + ' (not in this explorer)');
      }
      c.value = state[key] || (key === 'sort' ? 'condition' : key === 'dir' ? 'asc' : '');
    });
  }
  var lastApply = 0;
  function render() {
    var compareMode = state.view === 'compare';
    compareView.hidden = !compareMode;
    listView.hidden = compareMode;
    if (compareMode) { showCompare(); return; }
    syncControls();
    var t0 = performance.now();
    applyFilters();
    if (active >= filtered.length) active = 0;
    count.textContent = filtered.length + ' of ' + N + ' transcripts' + (filtered.length === N ? '' : ' match the filters');
    renderList();
    lastApply = performance.now() - t0;
    showDetail();
  }
  Object.keys(controls).forEach(function (key) {
    var c = controls[key];
    c.addEventListener(c.tagName === 'SELECT' ? 'change' : 'input', function () {
      state[key] = c.value;
      active = 0;
      list.scrollTop = 0;
      writeFragment();
      render();
    });
  });
  reset.addEventListener('click', function () {
    var keep = { open: state.open };
    readFragment();
    KEYS.forEach(function (key) { state[key] = DEFAULTS[key] || ''; });
    state.open = keep.open;
    active = 0;
    writeFragment();
    render();
  });
  window.addEventListener('hashchange', function () { readFragment(); active = 0; render(); });

  readFragment();
  render();
  document.body.dataset.ready = 'true';
  var timings = { script_ms: performance.now() - started, list_painted_ms: null };
  requestAnimationFrame(function () {
    requestAnimationFrame(function () { timings.list_painted_ms = performance.now(); });
  });
  // For tests and the benchmark: the state, what is listed, and timed filtering.
  window.explorer = {
    timings: timings,
    state: function () { return JSON.parse(JSON.stringify(state)); },
    listed: function () { return Array.prototype.map.call(filtered, function (t) { return idx.t[t][0]; }); },
    conditionOf: function (cell) { var t = byCell[cell]; return t === undefined ? null : [idx.models[tModel[t]], idx.scaffolds[tScaffold[t]], idx.prompts[tPrompt[t]]]; },
    apply: function (changes) {
      Object.keys(changes).forEach(function (key) { state[key] = changes[key]; });
      active = 0;
      writeFragment();
      var t0 = performance.now();
      render();
      return { ms: performance.now() - t0, filter_ms: lastApply, count: filtered.length };
    }
  };
})();
