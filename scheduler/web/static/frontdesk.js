// Front desk: live booking preview, client search, phone check, copy buttons.
// Everything here is an enhancement: each form also works without scripts.
"use strict";

(function () {
  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  function debounce(fn, ms) {
    var timer = null;
    return function () {
      clearTimeout(timer);
      timer = setTimeout(fn, ms);
    };
  }

  function getJSON(url) {
    return fetch(url, {
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    }).then(function (r) {
      if (!r.ok) { throw new Error("HTTP " + r.status); }
      return r.json();
    });
  }

  function setupBooking(form) {
    var previewBody = document.getElementById("preview-body");
    var previewBox = document.getElementById("preview");
    var office = form.querySelector("#location_id");
    var therapist = form.querySelector("#therapist_id");
    var room = form.querySelector("#room");
    var pending = 0;

    function narrow(select) {
      if (!select || !office) { return; }
      var chosen = office.value;
      Array.prototype.forEach.call(select.options, function (opt) {
        var at = opt.getAttribute("data-offices");
        var fits = !at || at.split(" ").indexOf(chosen) >= 0;
        opt.hidden = !fits;
        opt.disabled = !fits;
        if (!fits && opt.selected) { select.value = select.options[0].value; }
      });
    }

    function refreshPreview() {
      var ticket = ++pending;
      previewBox.setAttribute("aria-busy", "true");
      fetch(form.getAttribute("data-preview-url"), {
        method: "POST",
        credentials: "same-origin",
        headers: { Accept: "application/json", "X-CSRFToken": csrfToken() },
        body: new FormData(form),
      })
        .then(function (r) {
          if (!r.ok) { throw new Error("HTTP " + r.status); }
          return r.json();
        })
        .then(function (data) {
          if (ticket !== pending) { return; } // an older answer arriving late
          if (data.html) {
            // Rendered (and escaped) by the server's own template.
            previewBody.innerHTML = data.html;
          } else {
            previewBody.textContent = data.error || "";
          }
        })
        .catch(function () {
          if (ticket === pending) { previewBody.textContent = "The preview is not available right now."; }
        })
        .then(function () {
          if (ticket === pending) { previewBox.removeAttribute("aria-busy"); }
        });
    }

    var schedulePreview = debounce(refreshPreview, 300);
    form.addEventListener("input", function (e) {
      if (e.target && e.target.id === "client-search") { return; }
      schedulePreview();
    });
    var timeHint = document.getElementById("start_time-hint");
    function showZone() {
      var chosen = office && office.options[office.selectedIndex];
      var zone = chosen && chosen.getAttribute("data-zone");
      if (timeHint && zone) { timeHint.textContent = "In the office’s own time zone: " + zone + "."; }
    }
    // A maintenance series has 1-12 sessions, a course the practice's lengths: the number
    // field's limits follow the kind chosen (the server checks again).
    var kind = form.querySelector("#kind");
    var count = form.querySelector("#session_count");
    function countRange() {
      var chosen = kind && kind.options[kind.selectedIndex];
      if (!chosen || !count) { return; }
      count.min = chosen.getAttribute("data-min");
      count.max = chosen.getAttribute("data-max");
    }
    form.addEventListener("change", function (e) {
      if (e.target === office) { narrow(therapist); narrow(room); showZone(); }
      if (e.target === kind) { countRange(); }
      schedulePreview();
    });
    narrow(therapist);
    narrow(room);
    showZone();

    // Existing or new client: show only the part that applies.
    var existing = document.getElementById("existing-client");
    var fresh = document.getElementById("new-client");
    Array.prototype.forEach.call(form.querySelectorAll('input[name="client_mode"]'), function (radio) {
      radio.addEventListener("change", function () {
        var isNew = radio.value === "new" && radio.checked;
        if (radio.checked) {
          existing.hidden = isNew;
          fresh.hidden = !isNew;
        }
      });
    });

    // Client search: results become radio buttons named client_id.
    var search = document.getElementById("client-search");
    var results = document.getElementById("client-results");
    if (search && results) {
      search.addEventListener("input", debounce(function () {
        var q = search.value.trim();
        if (q.length < 2) { return; }
        getJSON(form.getAttribute("data-clients-url") + "?q=" + encodeURIComponent(q))
          .then(function (found) {
            results.textContent = "";
            if (!found.length) {
              var none = document.createElement("p");
              none.className = "muted";
              none.textContent = "No client matches. Choose “A new client” above to add one.";
              results.appendChild(none);
              return;
            }
            found.forEach(function (c, i) {
              var label = document.createElement("label");
              label.className = "choice";
              var input = document.createElement("input");
              input.type = "radio";
              input.name = "client_id";
              input.value = String(c.id);
              if (i === 0 && found.length === 1) { input.checked = true; }
              label.appendChild(input);
              label.appendChild(document.createTextNode(" " + c.name + " (" + c.phone + ") "));
              var language = document.createElement("span");
              language.className = "tag language";
              language.setAttribute("data-language", c.language);
              language.textContent = "Texts in " + c.language_name;
              label.appendChild(language);
              results.appendChild(label);
            });
          })
          .catch(function () { results.textContent = "Search is not available right now."; });
      }, 250));
    }

    // Phone: say as it is typed whether texts can reach it.
    var phone = form.querySelector("#phone");
    var phoneCheck = document.getElementById("phone-check");
    if (phone && phoneCheck) {
      phone.addEventListener("input", debounce(function () {
        var raw = phone.value.trim();
        if (raw.length < 7) {
          phoneCheck.textContent = "";
          phoneCheck.className = "check-result";
          return;
        }
        getJSON(form.getAttribute("data-phone-url") + "?phone=" + encodeURIComponent(raw))
          .then(function (res) {
            phoneCheck.textContent = res.ok ? res.message : "Mobile phone " + res.message;
            phoneCheck.className = "check-result " + (res.ok ? "is-ok" : "is-bad");
            (res.on_file || []).forEach(function (c) {
              // Already on file: offer that record (a submit button of the form: the server
              // fills the form with it and books nothing).
              var line = document.createElement("span");
              line.className = "on-file";
              line.textContent = " Already on file: " + c.name + " (" + c.home + "). ";
              var use = document.createElement("button");
              use.type = "submit";
              use.name = "use_client";
              use.value = String(c.id);
              use.formNoValidate = true;
              use.className = "small";
              use.textContent = "Use " + c.name;
              line.appendChild(use);
              phoneCheck.appendChild(line);
              phoneCheck.className = "check-result is-warn";
            });
          })
          .catch(function () { phoneCheck.textContent = ""; });
      }, 300));
    }

    refreshPreview();
  }

  function setupCopy(button) {
    button.addEventListener("click", function () {
      var input = document.getElementById(button.getAttribute("data-copy"));
      var status = document.getElementById("copy-status");
      if (!input) { return; }
      input.select();
      var done = function () { if (status) { status.textContent = "Copied."; } };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(input.value).then(done, function () {
          if (status) { status.textContent = "Press Ctrl+C (or ⌘C) to copy the selected link."; }
        });
      } else {
        if (status) { status.textContent = "Press Ctrl+C (or ⌘C) to copy the selected link."; }
      }
    });
  }

  // The time grid: drag a future session onto a free half hour to open its move, previewed
  // before anything is saved. Without scripts (or a mouse) the session's page does the same.
  function setupGrid(table) {
    var dragged = null;
    function clearTargets() {
      Array.prototype.forEach.call(table.querySelectorAll("td.drop-target"), function (td) {
        td.classList.remove("drop-target");
      });
    }
    function slotOf(event) {
      var cell = event.target.closest ? event.target.closest("td.slot") : null;
      return cell && table.contains(cell) ? cell : null;
    }
    table.addEventListener("dragstart", function (e) {
      var block = e.target.closest ? e.target.closest("a.block-link[data-movable]") : null;
      if (!block) { return; }
      dragged = block;
      e.dataTransfer.effectAllowed = "move";
      e.dataTransfer.setData("text/plain", block.getAttribute("data-session"));
      block.classList.add("dragging");
    });
    table.addEventListener("dragend", function () {
      if (dragged) { dragged.classList.remove("dragging"); }
      dragged = null;
      clearTargets();
    });
    table.addEventListener("dragover", function (e) {
      var cell = slotOf(e);
      if (!dragged || !cell) { return; }
      e.preventDefault();
      e.dataTransfer.dropEffect = "move";
      if (!cell.classList.contains("drop-target")) {
        clearTargets();
        cell.classList.add("drop-target");
      }
    });
    table.addEventListener("drop", function (e) {
      var cell = slotOf(e);
      if (!dragged || !cell) { return; }
      e.preventDefault();
      var slot = cell.querySelector("a");
      var params = new URLSearchParams({
        new_date: slot.getAttribute("data-date"),
        new_time: slot.getAttribute("data-time"),
      });
      var therapist = slot.getAttribute("data-therapist");
      if (therapist) { params.set("therapist_id", therapist); }
      window.location.href = dragged.getAttribute("href") + "?" + params.toString() + "#move-h";
    });
  }

  // Destructive buttons ask first (data-confirm holds the question).
  document.addEventListener("submit", function (e) {
    var button = e.submitter;
    var question = button && button.getAttribute("data-confirm");
    if (question && !window.confirm(question)) { e.preventDefault(); }
  }, true);

  document.addEventListener("DOMContentLoaded", function () {
    var grid = document.getElementById("grid");
    if (grid) { setupGrid(grid); }
    var form = document.getElementById("book-form");
    if (form) { setupBooking(form); }
    Array.prototype.forEach.call(document.querySelectorAll("button.copy"), setupCopy);
  });
})();
