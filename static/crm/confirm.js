// Lead CRM: asking before a destructive action (issue 14). An element with hx-confirm asks in
// an accessible <dialog> (not the browser's window.confirm): the question, then a button that
// does it (data-confirm-yes, e.g. "Delete lead") and one that keeps things as they are
// (data-confirm-no, "Keep it", focused first; Escape does the same). Also: a "Keep it" button
// inside a <details> confirm panel closes the panel, and after an HTMX swap the control marked
// data-autofocus (e.g. a deleted note's "Undo") takes the focus.
(function () {
  "use strict";

  var dialog = null;
  var pending = null; // {issue: function, trigger: element}

  function build() {
    dialog = document.createElement("dialog");
    dialog.className = "confirm-dialog";
    dialog.setAttribute("role", "alertdialog");
    dialog.setAttribute("aria-modal", "true");
    dialog.setAttribute("aria-labelledby", "confirm-dialog-title");
    dialog.setAttribute("aria-describedby", "confirm-dialog-text");
    var title = document.createElement("h2");
    title.id = "confirm-dialog-title";
    title.className = "confirm-dialog-title";
    title.textContent = "Are you sure?";
    var text = document.createElement("p");
    text.id = "confirm-dialog-text";
    var row = document.createElement("div");
    row.className = "btn-row";
    var yes = document.createElement("button");
    yes.type = "button";
    yes.className = "btn btn-danger";
    yes.setAttribute("data-confirm-answer", "yes");
    var no = document.createElement("button");
    no.type = "button";
    no.className = "btn";
    no.setAttribute("data-confirm-answer", "no");
    row.appendChild(yes);
    row.appendChild(no);
    dialog.appendChild(title);
    dialog.appendChild(text);
    dialog.appendChild(row);
    document.body.appendChild(dialog);
    dialog.addEventListener("click", function (event) {
      var answer = event.target.closest("[data-confirm-answer]");
      if (answer) finish(answer.getAttribute("data-confirm-answer") === "yes");
    });
    dialog.addEventListener("cancel", function (event) {
      event.preventDefault(); // Escape: keep it
      finish(false);
    });
  }

  function finish(go) {
    var was = pending;
    pending = null;
    if (dialog.open) dialog.close();
    if (!was) return;
    if (go) {
      was.issue();
    } else if (was.trigger && document.contains(was.trigger)) {
      was.trigger.focus();
    }
  }

  function ask(question, yesLabel, noLabel, trigger, issue) {
    if (!dialog) build();
    dialog.querySelector("#confirm-dialog-text").textContent = question;
    var yes = dialog.querySelector('[data-confirm-answer="yes"]');
    var no = dialog.querySelector('[data-confirm-answer="no"]');
    yes.textContent = yesLabel;
    no.textContent = noLabel;
    pending = { issue: issue, trigger: trigger };
    dialog.showModal();
    no.focus();
  }

  document.addEventListener("htmx:confirm", function (event) {
    var question = event.detail.question;
    if (!question) return; // no hx-confirm: nothing to ask
    event.preventDefault();
    var elt = event.detail.elt.closest("[hx-confirm]") || event.detail.elt;
    var trigger = document.activeElement !== document.body ? document.activeElement : elt;
    ask(
      question,
      elt.getAttribute("data-confirm-yes") || "Yes, go ahead",
      elt.getAttribute("data-confirm-no") || "Keep it",
      trigger,
      function () {
        event.detail.issueRequest(true);
      }
    );
  });

  // A request of an hx-confirm element goes out only after the user said yes (here, or in the
  // browser's confirm): it carries confirmed=1, which the server asks for before it destroys
  // anything (crm.web.ask_first); without it the server answers with a page that asks.
  document.addEventListener("htmx:configRequest", function (event) {
    var elt = event.detail.elt;
    if (elt && elt.closest && elt.closest("[hx-confirm]")) event.detail.formData.set("confirmed", "1");
  });

  // "Keep it" in a <details> confirm panel: close the panel, back to its summary.
  document.addEventListener("click", function (event) {
    var keep = event.target.closest("[data-close-details]");
    if (!keep) return;
    var details = keep.closest("details");
    if (!details) return;
    event.preventDefault();
    details.open = false;
    var summary = details.querySelector("summary");
    if (summary) summary.focus();
  });

  // Opening a <details> confirm panel puts the focus on its first field.
  document.addEventListener(
    "toggle",
    function (event) {
      var details = event.target;
      if (!details.matches || !details.matches("details.confirm-panel") || !details.open) return;
      var first = details.querySelector("input:not([type=hidden]), textarea, select");
      if (first) first.focus();
    },
    true
  );

  document.addEventListener("htmx:afterSettle", function (event) {
    var target = event.detail.target;
    // An outerHTML swap replaced the target: look in the element that took its place.
    if (target && !target.isConnected && target.id) target = document.getElementById(target.id);
    if (!target || !target.querySelector) return;
    var wanted = target.matches("[data-autofocus]") ? target : target.querySelector("[data-autofocus]");
    if (wanted) wanted.focus();
  });
})();
