// blindfold rating form: one item at a time, keyboard-first, every change
// saved at once: to localStorage in the offline packet (then exported as CSV),
// or to the server in the page `blindfold collect` serves. The page is
// rendered server-side with every item in it; this script never builds HTML
// from text (textContent only), so nothing a rater types or a transcript
// contains can become markup.
// Kept ASCII-only on purpose: the CSP allows it by the sha256 of its bytes.
(function () {
  "use strict";

  document.documentElement.classList.add("js");

  var FORMAT = "blindfold-form";
  var VERSION = 1;

  function byId(id) {
    return document.getElementById(id);
  }

  function isTextEntry(el) {
    if (!el || el.nodeType !== 1) {
      return false;
    }
    if (el.isContentEditable) {
      return true;
    }
    var tag = el.tagName;
    if (tag === "TEXTAREA" || tag === "SELECT") {
      return true;
    }
    if (tag !== "INPUT") {
      return false;
    }
    var type = (el.getAttribute("type") || "text").toLowerCase();
    return ["radio", "checkbox", "button", "submit", "reset", "range", "color", "file", "image"].indexOf(type) < 0;
  }

  function fatal(message) {
    var box = byId("fatal");
    if (box) {
      box.textContent = "This form cannot be used: " + message + " Please contact the study organiser.";
      box.hidden = false;
    }
    console.error("blindfold form: " + message);
  }

  // ---------- storage: where answers are kept. One small interface, two
  // implementations, chosen by the page (a #hosted-data block means served):
  //   load()           the saved state (the format of snapshot()) or null
  //   rejected()       the saved state could not be applied to the page
  //   restored(state)  the saved state is shown
  //   save(state)      the form's state after a change: keep it now
  //   pending()        changes not yet kept
  //   unsaved(dirty)   whether closing the page now would lose answers
  // `ui` shows what happens: ui.status(text, bad) and ui.warn(message).

  // The offline packet: the whole state under one localStorage key.
  function localStore(key, ui) {
    var s = null;
    var raw = null;
    try {
      s = window.localStorage;
      s.setItem("blindfold:probe", "1");
      s.removeItem("blindfold:probe");
    } catch (e) {
      s = null;
    }
    if (s) {
      window.addEventListener("storage", function (e) {
        if (e.key === key) {
          ui.warn("This packet is also open in another tab or window. Use only one of them, or answers may overwrite each other.");
        }
      });
    }
    return {
      kind: "local",
      available: !!s,
      load: function () {
        if (!s) {
          ui.warn("This browser does not let the page save your answers (local storage is unavailable). " +
            "The form still works, but answers are lost if you close or reload the page: use Export CSV before closing it.");
          ui.status("Not saved: export before closing", true);
          return null;
        }
        try {
          raw = s.getItem(key);
        } catch (e) {
          raw = null;
        }
        if (raw === null) {
          return null;
        }
        try {
          return JSON.parse(raw);
        } catch (e) {
          return false;
        }
      },
      rejected: function () {
        // Keep the unreadable copy rather than overwrite it on the next change.
        try {
          s.setItem(key + ":unreadable", raw);
        } catch (e) {
          // nothing more to do; the warning below still shows
        }
        ui.warn("Saved answers for this packet were found but could not be read; starting empty. " +
          "A copy was kept in this browser under \"" + key + ":unreadable\".");
      },
      restored: function () {
        ui.status("Saved in this browser", false);
      },
      save: function (state) {
        if (!s) {
          ui.status("Not saved: export before closing", true);
          return;
        }
        try {
          s.setItem(key, JSON.stringify(state));
          ui.status("Saved in this browser", false);
        } catch (e) {
          ui.status("Not saved: export before closing", true);
          ui.warn("Your answers could not be saved in this browser (" + (e && e.name ? e.name : "error") +
            "). Keep this page open and use Export CSV before closing it.");
        }
      },
      pending: function () {
        return 0;
      },
      unsaved: function (dirtySinceExport) {
        return !s && dirtySinceExport;
      }
    };
  }

  // The served page: each changed field is one change sent to the server, in
  // order, one request at a time; changes made meanwhile wait in a queue (a
  // field changed again before it is sent is sent once). A request that fails
  // on the way (offline, server restarting) is retried as it was, with the
  // same change numbers, so the server stores it once; a refusal stops saving
  // and says why. Finishing sends what is left, then marks the session done.
  function serverStore(config, ui) {
    var queue = []; // {item_id, field, value}: not sent yet
    var inflight = null; // the request being sent (or waiting for a retry)
    var seq = 0;
    var known = {}; // item id -> field -> value, as last handed to save()
    var current = null;
    var sentCurrent = config.state ? config.state.current : null;
    var finishing = false;
    var stopped = "";
    var retryTimer = 0;
    var retryDelay = 0;
    var savedAt = null;

    if (config.read_only) {
      ui.warn("Collection has closed: you can look through your answers, but changes are no longer saved.");
    }

    function fields(item) {
      var f = {};
      Object.keys(item.ratings).forEach(function (d) {
        f["score:" + d] = item.ratings[d];
      });
      f.comment = item.comment;
      f.identity = item.identity;
      f.guess = item.guess;
      return f;
    }

    function remember(state) {
      Object.keys(state.items).forEach(function (id) {
        known[id] = fields(state.items[id]);
      });
      current = state.current;
    }

    function enqueue(itemId, field, value) {
      for (var i = 0; i < queue.length; i++) {
        if (queue[i].item_id === itemId && queue[i].field === field) {
          queue[i].value = value;
          return;
        }
      }
      queue.push({ item_id: itemId, field: field, value: value });
    }

    function pending() {
      return queue.length + (inflight ? inflight.count : 0);
    }

    function two(n) {
      return (n < 10 ? "0" : "") + n;
    }

    function report() {
      var n = pending();
      var waiting = n + " change" + (n === 1 ? "" : "s");
      if (config.read_only) {
        ui.status("Not saved: collection has closed", true);
      } else if (stopped) {
        ui.status("Not saved: " + waiting + " kept in this page", true);
      } else if (retryTimer) {
        ui.status("Offline: " + waiting + " not saved yet, retrying", true);
      } else if (inflight) {
        ui.status("Saving...", false);
      } else {
        ui.status("All answers saved" + (savedAt ? " at " + two(savedAt.getHours()) + ":" +
          two(savedAt.getMinutes()) + ":" + two(savedAt.getSeconds()) : ""), false);
      }
    }

    function stop(status, message) {
      stopped = status === 404 ? "this link is no longer valid (it may have been revoked)"
        : status === 409 ? "collection has closed"
          : "the server refused them (" + (message || "HTTP " + status) + ")";
      ui.warn("Your latest answers could not be saved: " + stopped + ". They are kept in this page " +
        "only while it stays open; please contact the study organiser.");
      report();
    }

    function send() {
      if (inflight || stopped || config.read_only) {
        report();
        return;
      }
      if (queue.length || current !== sentCurrent) {
        var changes = queue.splice(0, 200).map(function (c) {
          seq += 1;
          return { seq: seq, item_id: c.item_id, field: c.field, value: c.value };
        });
        inflight = {
          url: config.save_url,
          body: JSON.stringify({ session: config.session, changes: changes, current: current }),
          count: changes.length,
          current: current
        };
      } else if (finishing) {
        inflight = { url: config.finish_url, body: JSON.stringify({ session: config.session }), count: 0, finish: true };
      } else {
        report();
        return;
      }
      attempt();
    }

    function succeeded() {
      var done = inflight;
      inflight = null;
      retryDelay = 0;
      if (done.finish) {
        window.location.assign(config.done_url);
        return;
      }
      sentCurrent = done.current;
      savedAt = new Date();
      send();
    }

    function retryLater() {
      retryDelay = Math.min(retryDelay ? retryDelay * 2 : 1000, 30000);
      window.clearTimeout(retryTimer);
      retryTimer = window.setTimeout(function () {
        retryTimer = 0;
        attempt();
      }, retryDelay);
      report();
    }

    function attempt() {
      report();
      var controller = new AbortController();
      var timeout = window.setTimeout(function () {
        controller.abort();
      }, 20000);
      fetch(inflight.url, {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-Blindfold-Csrf": config.csrf },
        body: inflight.body,
        credentials: "same-origin",
        cache: "no-store",
        redirect: "error",
        signal: controller.signal
      }).then(function (response) {
        window.clearTimeout(timeout);
        if (response.status === 429 || response.status >= 500) {
          retryLater();
          return;
        }
        return response.json().then(function (body) {
          return body && typeof body === "object" ? body : {};
        }, function () {
          return {};
        }).then(function (body) {
          if (response.ok && body.ok === true) {
            succeeded();
          } else if (response.ok) {
            retryLater(); // not our server's answer (a proxy's page?): try again
          } else {
            stop(response.status, typeof body.error === "string" ? body.error : "");
          }
        });
      }, function () {
        window.clearTimeout(timeout);
        retryLater();
      });
    }

    window.addEventListener("online", function () {
      if (retryTimer) {
        window.clearTimeout(retryTimer);
        retryTimer = 0;
        attempt();
      }
    });

    return {
      kind: "server",
      available: true,
      readOnly: !!config.read_only,
      load: function () {
        var state = config.state;
        if (!state || (state.current === null && Object.keys(state.items || {}).length === 0)) {
          return null;
        }
        return state;
      },
      rejected: function () {
        ui.warn("Your saved answers could not be shown in this page. Please do not rate now; contact the study organiser.");
      },
      restored: function (state) {
        remember(state);
        sentCurrent = current;
        report();
      },
      save: function (state) {
        Object.keys(state.items).forEach(function (id) {
          var now = fields(state.items[id]);
          var before = known[id] || {};
          Object.keys(now).forEach(function (f) {
            if (now[f] !== (before[f] || "")) {
              enqueue(id, f, now[f]);
            }
          });
          known[id] = now;
        });
        current = state.current;
        send();
      },
      finish: function () {
        finishing = true;
        send();
      },
      pending: pending,
      unsaved: function () {
        return pending() > 0;
      }
    };
  }

  function init() {
    var body = document.body;
    var packetId = body.getAttribute("data-packet-id") || "";
    var rater = body.getAttribute("data-rater") || "";
    var storageKey = "blindfold:" + packetId + ":" + rater;

    var rubric = JSON.parse(byId("rubric-data").textContent);
    var dims = rubric.dimensions;
    if (!Array.isArray(dims) || dims.length === 0) {
      throw new Error("the rubric has no dimensions.");
    }

    var columns = Array.prototype.map.call(byId("csv-columns").children, function (li) {
      return li.textContent;
    });
    var expectedColumns = ["rater", "item_id"].concat(dims.map(function (d) {
      return d.id;
    }), ["comment", "identity_guess"]);
    if (columns.join("\u0000") !== expectedColumns.join("\u0000")) {
      throw new Error("the export columns do not match the rubric.");
    }

    var jumpButtons = Array.prototype.slice.call(document.querySelectorAll("#jump-list .jump"));
    var items = Array.prototype.map.call(document.querySelectorAll("#items > section.item"), function (section, index) {
      var fieldsets = Array.prototype.slice.call(section.querySelectorAll("fieldset.dim"));
      if (fieldsets.length !== dims.length) {
        throw new Error("item " + (index + 1) + " does not show every rubric question.");
      }
      fieldsets.forEach(function (fs, k) {
        if (fs.getAttribute("data-dim-id") !== String(dims[k].id)) {
          throw new Error("item " + (index + 1) + " shows the rubric questions out of order.");
        }
      });
      var identity = section.querySelector("fieldset.identity");
      return {
        index: index,
        id: section.getAttribute("data-item-id"),
        position: section.getAttribute("data-position"),
        section: section,
        conversation: section.querySelector(".conversation"),
        fieldsets: fieldsets,
        radios: fieldsets.map(function (fs) {
          return Array.prototype.slice.call(fs.querySelectorAll("input[type=radio]"));
        }),
        comment: section.querySelector("textarea.comment"),
        identityRadios: Array.prototype.slice.call(identity.querySelectorAll("input[type=radio]")),
        guess: identity.querySelector("input.guess"),
        doneHint: section.querySelector(".done-hint"),
        jump: jumpButtons[index]
      };
    });
    if (jumpButtons.length !== items.length) {
      throw new Error("the item list does not match the items.");
    }

    var cur = 0; // index of the shown item
    var curDim = 0; // index of the highlighted rubric question
    var ui = { status: setSaveStatus, warn: warnStorage };
    var hostedData = byId("hosted-data");
    var store = hostedData ? serverStore(JSON.parse(hostedData.textContent), ui) : localStore(storageKey, ui);
    var hosted = store.kind === "server";
    var dirtySinceExport = false;
    var toastTimer = 0;

    // ---------- reading and writing answers (the DOM is the single source of truth)

    function rating(item, k) {
      var radios = item.radios[k];
      for (var i = 0; i < radios.length; i++) {
        if (radios[i].checked) {
          return radios[i].value;
        }
      }
      return "";
    }

    function identityChoice(item) {
      for (var i = 0; i < item.identityRadios.length; i++) {
        if (item.identityRadios[i].checked) {
          return item.identityRadios[i].value;
        }
      }
      return "";
    }

    function identityExport(item) {
      var choice = identityChoice(item);
      if (choice === "no") {
        return "no";
      }
      if (choice === "guess") {
        return item.guess.value.trim();
      }
      return "";
    }

    function missingDims(item) {
      var missing = [];
      dims.forEach(function (d, k) {
        if (d.required && rating(item, k) === "") {
          missing.push(k);
        }
      });
      return missing;
    }

    function answeredCount(item) {
      var n = 0;
      dims.forEach(function (d, k) {
        if (rating(item, k) !== "") {
          n++;
        }
      });
      return n;
    }

    function isRated(item) {
      return missingDims(item).length === 0;
    }

    function snapshot() {
      var out = {};
      items.forEach(function (item) {
        var ratings = {};
        dims.forEach(function (d, k) {
          ratings[d.id] = rating(item, k);
        });
        out[item.id] = {
          ratings: ratings,
          comment: item.comment.value,
          identity: identityChoice(item),
          guess: item.guess.value
        };
      });
      return {
        format: FORMAT,
        version: VERSION,
        packet_id: packetId,
        rater: rater,
        current: items.length ? items[cur].id : null,
        items: out
      };
    }

    function applySnapshot(saved) {
      if (!saved || typeof saved !== "object" || saved.format !== FORMAT || !saved.items || typeof saved.items !== "object") {
        return false;
      }
      items.forEach(function (item) {
        var s = Object.prototype.hasOwnProperty.call(saved.items, item.id) ? saved.items[item.id] : null;
        if (!s || typeof s !== "object") {
          return;
        }
        var ratings = s.ratings && typeof s.ratings === "object" ? s.ratings : {};
        dims.forEach(function (d, k) {
          var v = Object.prototype.hasOwnProperty.call(ratings, d.id) ? ratings[d.id] : "";
          item.radios[k].forEach(function (r) {
            r.checked = typeof v === "string" && v !== "" && r.value === v;
          });
        });
        if (typeof s.comment === "string") {
          item.comment.value = s.comment;
        }
        if (typeof s.guess === "string") {
          item.guess.value = s.guess;
        }
        item.identityRadios.forEach(function (r) {
          r.checked = r.value === s.identity;
        });
      });
      var idx = indexOfItemId(saved.current);
      if (idx >= 0) {
        cur = idx;
      }
      return true;
    }

    function indexOfItemId(id) {
      for (var i = 0; i < items.length; i++) {
        if (items[i].id === id) {
          return i;
        }
      }
      return -1;
    }

    // ---------- storage (see localStore and serverStore)

    function warnStorage(message) {
      var box = byId("storage-warning");
      box.textContent = message;
      box.hidden = false;
    }

    function setSaveStatus(text, bad) {
      var el = byId("save-status");
      el.textContent = text;
      el.classList.toggle("is-bad", !!bad);
    }

    function save() {
      store.save(snapshot());
    }

    function restore() {
      var saved = store.load();
      if (saved === null) {
        return false;
      }
      if (!applySnapshot(saved)) {
        store.rejected();
        return false;
      }
      store.restored(snapshot());
      return true;
    }

    // ---------- display

    function toast(message) {
      var el = byId("toast");
      el.textContent = message;
      el.classList.add("is-visible");
      window.clearTimeout(toastTimer);
      toastTimer = window.setTimeout(function () {
        el.classList.remove("is-visible");
      }, 4000);
    }

    function hideToast() {
      window.clearTimeout(toastTimer);
      byId("toast").classList.remove("is-visible");
    }

    function refreshItem(item) {
      var answered = answeredCount(item);
      var rated = isRated(item);
      var state = rated ? "rated" : (answered > 0 || item.comment.value !== "" || identityChoice(item) !== "" ? "partial" : "open");
      item.jump.classList.toggle("is-rated", state === "rated");
      item.jump.classList.toggle("is-partial", state === "partial");
      item.jump.setAttribute("aria-label", "Item " + item.position + ", " +
        (state === "rated" ? "rated" : state === "partial" ? "partly rated" : "not rated"));
      item.radios.forEach(function (radios) {
        radios.forEach(function (r) {
          r.parentNode.classList.toggle("is-selected", r.checked);
        });
      });
      item.identityRadios.forEach(function (r) {
        r.parentNode.classList.toggle("is-selected", r.checked);
      });
      item.doneHint.textContent = rated ? "All required questions answered." : "";
    }

    function refreshProgress() {
      var rated = items.filter(isRated).length;
      byId("progress-text").textContent = rated + " of " + items.length + " rated";
      var bar = byId("progress-bar");
      bar.max = Math.max(items.length, 1);
      bar.value = rated;
      if (!items.length) {
        return;
      }
      var item = items[cur];
      byId("item-label").textContent = "Item " + item.position + " of " + items.length;
      byId("item-id").textContent = item.id;
      var missing = missingDims(item).length;
      var status = byId("item-status");
      status.textContent = missing === 0 ? "rated" : missing + " required question" + (missing === 1 ? "" : "s") + " left";
      status.classList.toggle("is-rated", missing === 0);
      byId("btn-prev").disabled = cur === 0;
      byId("btn-next").disabled = cur === items.length - 1;
    }

    function setActiveDim(k) {
      if (!items.length) {
        return;
      }
      curDim = Math.max(0, Math.min(dims.length - 1, k));
      items[cur].fieldsets.forEach(function (fs, i) {
        fs.classList.toggle("is-active", i === curDim);
      });
    }

    function focusDim(k) {
      if (!items.length) {
        return;
      }
      setActiveDim(k);
      var fs = items[cur].fieldsets[curDim];
      var radios = items[cur].radios[curDim];
      var target = radios.filter(function (r) {
        return r.checked;
      })[0] || radios[0];
      fs.scrollIntoView({ block: "nearest" });
      if (target) {
        target.focus({ preventScroll: true });
      }
    }

    function showItem(index, focusFirstMissing) {
      if (!items.length) {
        return;
      }
      index = Math.max(0, Math.min(items.length - 1, index));
      hideToast(); // a message about the previous item would mislead here
      items[cur].section.classList.remove("is-current");
      items[cur].jump.removeAttribute("aria-current");
      cur = index;
      var item = items[cur];
      item.section.classList.add("is-current");
      item.jump.setAttribute("aria-current", "true");
      item.jump.scrollIntoView({ block: "nearest" });
      var missing = missingDims(item);
      var k = 0;
      if (focusFirstMissing !== false && missing.length) {
        k = missing[0];
      }
      refreshProgress();
      focusDim(k);
      save();
    }

    function nextUnrated() {
      for (var step = 1; step <= items.length; step++) {
        var i = (cur + step) % items.length;
        if (!isRated(items[i])) {
          showItem(i);
          return true;
        }
      }
      toast("All items are rated. Use " + (hosted ? "Finish" : "Export CSV") + " when you are ready.");
      return false;
    }

    function changed(item) {
      dirtySinceExport = true;
      refreshItem(item);
      refreshProgress();
      save();
    }

    function setLevel(item, k, digit) {
      var radios = item.radios[k];
      var target = null;
      radios.forEach(function (r) {
        if (r.value.trim() !== "" && Number(r.value) === digit) {
          target = r;
        }
      });
      if (!target) {
        toast("Q" + (k + 1) + " has no level " + digit + ".");
        return false;
      }
      target.checked = true;
      changed(item);
      return true;
    }

    function clearLevel(item, k) {
      item.radios[k].forEach(function (r) {
        r.checked = false;
      });
      changed(item);
    }

    function scrollConversation(direction) {
      var pane = items[cur].conversation;
      pane.scrollBy({ top: direction * Math.max(40, pane.clientHeight * 0.85), behavior: "auto" });
    }

    // ---------- CSV export (RFC 4180; CRLF line endings)

    function csvField(value) {
      var s = String(value);
      return /[",\r\n]/.test(s) ? "\"" + s.replace(/"/g, "\"\"") + "\"" : s;
    }

    function exportCsv() {
      var rows = [columns];
      items.forEach(function (item) {
        var row = [rater, item.id];
        dims.forEach(function (d, k) {
          row.push(rating(item, k));
        });
        row.push(item.comment.value, identityExport(item));
        rows.push(row);
      });
      return rows.map(function (row) {
        return row.map(csvField).join(",");
      }).join("\r\n") + "\r\n";
    }

    function missingReport() {
      return items.filter(function (item) {
        return !isRated(item);
      }).map(function (item) {
        return {
          index: item.index,
          position: item.position,
          item_id: item.id,
          missing: missingDims(item).map(function (k) {
            return dims[k].id;
          })
        };
      });
    }

    function download() {
      var csv = exportCsv();
      var blob = new Blob([csv], { type: "text/csv;charset=utf-8" });
      var url = URL.createObjectURL(blob);
      var a = document.createElement("a");
      a.href = url;
      // A part of a packet names its export after the part (ratings-RATER-part-02.csv).
      a.download = body.getAttribute("data-export-name") || "ratings-" + rater + ".csv";
      a.hidden = true;
      document.body.appendChild(a);
      a.click();
      a.remove();
      window.setTimeout(function () {
        URL.revokeObjectURL(url);
      }, 60000);
      dirtySinceExport = false;
      toast("Exported " + a.download + ". Send that file to the study organiser.");
    }

    // Done rating: the offline form downloads the CSV, the served one finishes.
    function complete() {
      if (!hosted) {
        download();
      } else if (store.readOnly) {
        toast("Collection has closed; there is nothing to finish.");
      } else {
        toast("Finishing: saving your last answers...");
        store.finish();
      }
    }

    function startExport() {
      var missing = missingReport();
      if (!missing.length) {
        complete();
        return;
      }
      var list = byId("export-missing");
      list.textContent = "";
      missing.forEach(function (m) {
        var li = document.createElement("li");
        var link = document.createElement("button");
        link.type = "button";
        link.className = "link";
        link.textContent = "Item " + m.position;
        link.addEventListener("click", function () {
          byId("export-dialog").close();
          showItem(m.index);
        });
        var what = document.createElement("span");
        what.className = "missing-what";
        what.textContent = " " + m.item_id + ": missing " + missingDims(items[m.index]).map(function (k) {
          return "Q" + (k + 1);
        }).join(", ");
        li.appendChild(link);
        li.appendChild(what);
        list.appendChild(li);
      });
      byId("export-summary").textContent = missing.length + " of " + items.length +
        (missing.length === 1 ? " item has" : " items have") +
        " unanswered required questions. Go to an item to finish it, or " +
        (hosted ? "finish anyway." : "export anyway (unanswered cells are left empty).");
      byId("export-dialog").showModal();
      byId("export-cancel").focus();
    }

    function openInstructions() {
      var dialog = byId("instructions-dialog");
      if (!dialog.open) {
        dialog.showModal();
      }
      byId("instructions-close").focus();
    }

    // ---------- events

    items.forEach(function (item) {
      item.fieldsets.forEach(function (fs, k) {
        fs.addEventListener("focusin", function () {
          setActiveDim(k);
        });
        fs.addEventListener("click", function () {
          setActiveDim(k);
        });
      });
      item.section.addEventListener("change", function () {
        changed(item);
      });
      item.comment.addEventListener("input", function () {
        changed(item);
      });
      item.guess.addEventListener("input", function () {
        if (item.guess.value !== "") {
          item.identityRadios.forEach(function (r) {
            r.checked = r.value === "guess";
          });
        }
        changed(item);
      });
      item.section.querySelector(".identity-clear").addEventListener("click", function () {
        item.identityRadios.forEach(function (r) {
          r.checked = false;
        });
        item.guess.value = "";
        changed(item);
      });
      item.section.querySelector(".next-item").addEventListener("click", function () {
        showItem(cur + 1);
      });
      item.identityRadios.forEach(function (r) {
        if (r.value === "guess") {
          r.addEventListener("change", function () {
            if (r.checked) {
              item.guess.focus();
            }
          });
        }
      });
      // Links inside transcripts would navigate away from the form (and there is no network).
      item.conversation.addEventListener("click", function (e) {
        var a = e.target && e.target.closest ? e.target.closest("a[href]") : null;
        if (a) {
          e.preventDefault();
          toast("Links are disabled in this form. Target: " + a.getAttribute("href"));
        }
      });
    });

    jumpButtons.forEach(function (btn, i) {
      btn.addEventListener("click", function () {
        showItem(i);
      });
    });
    byId("btn-prev").addEventListener("click", function () {
      showItem(cur - 1);
    });
    byId("btn-next").addEventListener("click", function () {
      showItem(cur + 1);
    });
    byId("btn-next-unrated").addEventListener("click", nextUnrated);
    byId("btn-export").addEventListener("click", startExport);
    byId("btn-help").addEventListener("click", openInstructions);
    byId("export-cancel").addEventListener("click", function () {
      byId("export-dialog").close();
    });
    byId("export-anyway").addEventListener("click", function () {
      byId("export-dialog").close();
      complete();
    });
    byId("instructions-close").addEventListener("click", function () {
      byId("instructions-dialog").close();
    });
    // The close event comes a task later; by then a fast typist may already be elsewhere.
    function refocusAfterDialog() {
      var a = document.activeElement;
      if (!a || a === document.body || (a.closest && a.closest("dialog"))) {
        focusDim(curDim);
      }
    }
    byId("instructions-dialog").addEventListener("close", refocusAfterDialog);
    byId("export-dialog").addEventListener("close", refocusAfterDialog);

    document.addEventListener("keydown", function (e) {
      if (e.defaultPrevented || e.isComposing || !items.length) {
        return;
      }
      if (document.querySelector("dialog[open]")) {
        return; // dialogs keep the browser's own keys (Tab, Enter, Esc)
      }
      var t = e.target;
      if (isTextEntry(t)) {
        if (e.key === "Escape") {
          e.preventDefault();
          t.blur();
          focusDim(curDim);
        }
        return; // never take keys away from someone typing
      }
      if (e.ctrlKey || e.metaKey || e.altKey) {
        return;
      }
      var item = items[cur];
      var onIdentity = !!(t && t.closest && t.closest("fieldset.identity"));
      var key = e.key;
      if (key.length === 1 && key >= "0" && key <= "9") {
        e.preventDefault();
        if (setLevel(item, curDim, Number(key))) {
          if (curDim < dims.length - 1) {
            focusDim(curDim + 1);
          } else {
            focusDim(curDim);
            if (isRated(item)) {
              toast("Item " + item.position + " is rated. Press j for the next item, u for the next unrated one.");
            }
          }
        }
        return;
      }
      var handled = true;
      switch (key.length === 1 ? key.toLowerCase() : key) {
        case "j":
          if (cur < items.length - 1) {
            showItem(cur + 1);
          } else {
            toast("This is the last item.");
          }
          break;
        case "k":
          if (cur > 0) {
            showItem(cur - 1);
          } else {
            toast("This is the first item.");
          }
          break;
        case "u":
          nextUnrated();
          break;
        case "e":
          startExport();
          break;
        case "ArrowDown":
          if (onIdentity) {
            handled = false;
          } else {
            focusDim(curDim + 1);
          }
          break;
        case "ArrowUp":
          if (onIdentity) {
            handled = false;
          } else {
            focusDim(curDim - 1);
          }
          break;
        case "Delete":
        case "Backspace":
          clearLevel(item, curDim);
          focusDim(curDim);
          break;
        case "c":
          item.comment.focus();
          break;
        case "g":
          item.guess.focus();
          break;
        case "h":
        case "?":
          openInstructions();
          break;
        case "PageDown":
          scrollConversation(1);
          break;
        case "PageUp":
          scrollConversation(-1);
          break;
        case " ":
          if (t === document.body || (t && t.closest && t.closest("fieldset.dim"))) {
            scrollConversation(e.shiftKey ? -1 : 1);
          } else {
            handled = false; // Space still presses buttons and picks identity choices
          }
          break;
        default:
          handled = false;
      }
      if (handled) {
        e.preventDefault();
      }
    });

    window.addEventListener("beforeunload", function (e) {
      if (store.unsaved(dirtySinceExport)) {
        e.preventDefault();
        e.returnValue = "";
      }
    });

    // ---------- start

    var hadSaved = restore();
    items.forEach(refreshItem);
    window.blindfoldExportCsv = exportCsv;
    window.blindfold = Object.freeze({
      storageKey: storageKey,
      storage: store.kind,
      storageAvailable: store.available,
      pending: store.pending,
      exportCsv: exportCsv,
      startExport: startExport,
      state: snapshot,
      missing: missingReport,
      progress: function () {
        return { rated: items.filter(isRated).length, total: items.length };
      },
      current: function () {
        var item = items[cur];
        return item ? { index: cur, position: item.position, item_id: item.id, dimension: dims[curDim].id } : null;
      },
      goTo: function (indexOrItemId) {
        var i = typeof indexOrItemId === "number" ? indexOrItemId : indexOfItemId(indexOrItemId);
        if (i < 0 || i >= items.length) {
          return false;
        }
        showItem(i);
        return true;
      }
    });
    body.classList.add("is-ready");
    byId("nojs").hidden = true;
    if (!items.length) {
      byId("item-label").textContent = "This packet has no items.";
      refreshProgress();
    } else {
      items[cur].section.classList.add("is-current");
      showItem(cur);
    }
    if (!hadSaved) {
      openInstructions();
    }
    body.setAttribute("data-ready", "true");
  }

  function start() {
    try {
      init();
    } catch (e) {
      fatal(e && e.message ? e.message : String(e));
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
