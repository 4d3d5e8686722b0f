// Lead CRM: the leads list (issue 14). The page works without this script; it adds:
// - on narrow screens, the filters fold behind the "Filters" button, which counts those in use;
// - the bulk bar shows the field its chosen action needs (the new status, assignee or owner);
// - after an HTMX swap that asks before a delete, the question takes the focus.
(function () {
  "use strict";

  var NARROW = window.matchMedia("(max-width: 640px)");

  function filtersForm() {
    return document.getElementById("lead-filters");
  }

  // Filters in use besides the search (and "Show" at its default, "All I can see").
  function activeFilters(form) {
    var n = 0;
    form.querySelectorAll("#filter-fields select, #filter-fields input").forEach(function (field) {
      if (field.type === "hidden" || field.type === "submit" || !field.name) return;
      if (!field.value) return;
      if (field.name === "list_type" && field.value === "all") return;
      n += 1;
    });
    return n;
  }

  function showCount(form) {
    var count = form.querySelector("[data-filters-count]");
    if (!count) return;
    var n = activeFilters(form);
    count.textContent = n ? " (" + n + ")" : "";
  }

  function setOpen(form, open) {
    var button = form.querySelector("[data-filters-toggle]");
    form.classList.toggle("filters-open", open);
    if (button) button.setAttribute("aria-expanded", open ? "true" : "false");
  }

  function setUp() {
    var form = filtersForm();
    if (!form) return;
    form.classList.add("filters-collapsible");
    setOpen(form, false);
    showCount(form);
    form.addEventListener("change", function () {
      showCount(form);
    });
    form.addEventListener("click", function (event) {
      var button = event.target.closest("[data-filters-toggle]");
      if (!button) return;
      var open = !form.classList.contains("filters-open");
      setOpen(form, open);
      if (open) {
        var first = form.querySelector("#filter-fields select, #filter-fields input");
        if (first && NARROW.matches) first.focus();
      }
    });
    showBulkFields(document);
  }

  // The bulk bar: only the field the chosen action needs.
  function showBulkFields(root) {
    var action = root.querySelector ? root.querySelector("#id_bulk_action") : null;
    if (!action) return;
    var form = action.form;
    form.querySelectorAll("[data-bulk-for]").forEach(function (field) {
      field.hidden = field.getAttribute("data-bulk-for") !== action.value;
    });
  }

  document.addEventListener("change", function (event) {
    if (event.target.id === "id_bulk_action") showBulkFields(document);
  });

  document.addEventListener("htmx:afterSettle", function (event) {
    var target = event.detail.target;
    if (!target || target.id !== "lead-table") return;
    showBulkFields(document);
    var question = document.getElementById("confirm-bulk-title");
    if (question) question.focus();
  });

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", setUp);
  } else {
    setUp();
  }
})();
