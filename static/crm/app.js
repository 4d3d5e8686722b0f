// Lead CRM: the web app's own script. Pages work without it; it adds the small things htmx
// does not: dismissing messages, disclosure buttons, and telling the user when an HTMX request
// fails.
(function () {
  "use strict";

  function showError(text) {
    var box = document.getElementById("messages");
    if (!box) return;
    var item = document.createElement("div");
    item.className = "message message-error";
    item.setAttribute("role", "alert");
    var span = document.createElement("span");
    span.textContent = text;
    var close = document.createElement("button");
    close.type = "button";
    close.className = "message-close";
    close.setAttribute("aria-label", "Dismiss");
    close.setAttribute("data-dismiss", "");
    close.textContent = "\u00d7";
    item.appendChild(span);
    item.appendChild(close);
    box.appendChild(item);
  }
  window.crmShowError = showError;

  // A "select all" checkbox ticks every row checkbox of its form.
  document.addEventListener("change", function (event) {
    var all = event.target.closest("[data-select-all]");
    if (!all) return;
    all.form.querySelectorAll('input[type="checkbox"][name="leads"]').forEach(function (box) {
      box.checked = all.checked;
    });
  });

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-dismiss]");
    if (button) button.closest(".message").remove();
  });

  // A disclosure button ([data-disclose] naming its panel) shows or hides the panel in place;
  // without this script it submits its own form, which opens a page with the same controls.
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-disclose]");
    if (!button) return;
    var panel = document.getElementById(button.getAttribute("data-disclose"));
    if (!panel) return;
    event.preventDefault();
    var open = panel.hidden;
    panel.hidden = !open;
    button.setAttribute("aria-expanded", open ? "true" : "false");
    if (open) {
      var first = panel.querySelector("input:not([type=hidden]), select, textarea, button");
      if (first) first.focus();
    }
  });

  // Never a silent nothing: a failed HTMX request says so where the user is looking.
  document.addEventListener("htmx:responseError", function (event) {
    var xhr = event.detail.xhr;
    var reasons = {
      403: "You may not do that.",
      404: "That item no longer exists, or you may not see it.",
      413: "That upload is too large.",
      429: "Too many requests; try again in a moment.",
    };
    // A refusal the server explains in plain words (e.g. a 403 from a rule) is shown as is.
    var type = xhr.getResponseHeader("Content-Type") || "";
    var text = type.indexOf("text/plain") === 0 ? xhr.responseText.trim() : "";
    if (text && text.length <= 300) {
      showError(text);
      return;
    }
    showError(reasons[xhr.status] || "Something went wrong (" + xhr.status + "). Nothing was saved; please try again.");
  });
  document.addEventListener("htmx:sendError", function () {
    showError("The server could not be reached. Check your connection and try again.");
  });
})();
