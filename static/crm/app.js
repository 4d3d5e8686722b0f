// Lead CRM: the web app's own script. Pages work without it; it adds the small things htmx
// does not: dismissing messages, disclosure buttons, and telling the user when an HTMX request
// fails.
(function () {
  "use strict";

  // A message of the script's own. Like the server's (an out-of-band swap of #messages), a new
  // message replaces the ones shown before: the user sees the outcome of their latest action,
  // never a stale one beside it (issue 14). ``link`` ({href, text}) adds a link after the text.
  function showMessage(text, kind, link) {
    var box = document.getElementById("messages");
    if (!box) return null;
    var item = document.createElement("div");
    item.className = "message message-" + kind;
    item.setAttribute("role", kind === "error" ? "alert" : "status");
    var span = document.createElement("span");
    span.textContent = text;
    if (link) {
      var anchor = document.createElement("a");
      anchor.href = link.href;
      anchor.textContent = link.text;
      span.appendChild(document.createTextNode(" "));
      span.appendChild(anchor);
    }
    var close = document.createElement("button");
    close.type = "button";
    close.className = "message-close";
    close.setAttribute("aria-label", "Dismiss");
    close.setAttribute("data-dismiss", "");
    close.textContent = "\u00d7";
    item.appendChild(span);
    item.appendChild(close);
    box.replaceChildren(item);
    return item;
  }

  function showError(text) {
    return showMessage(text, "error");
  }
  window.crmShowError = showError;
  window.crmShowMessage = showMessage;

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

  // == Long texts (issue 14): a note or summary longer than its limit is refused by the server
  // with a message, never cut by the browser; this counter ("512 / 499") warns while typing.
  function countText(area) {
    var limit = parseInt(area.getAttribute("data-maxlength"), 10);
    if (!limit) return;
    var counter = area.nextElementSibling;
    if (!counter || !counter.classList.contains("note-count")) {
      counter = document.createElement("span");
      counter.className = "note-count";
      area.insertAdjacentElement("afterend", counter);
    }
    var length = area.value.length;
    counter.textContent = length + " / " + limit + (length > limit ? " (too long)" : "");
    counter.classList.toggle("over", length > limit);
    counter.hidden = length < limit * 0.8;
  }
  document.addEventListener("input", function (event) {
    if (event.target.matches && event.target.matches("textarea[data-maxlength]")) countText(event.target);
  });
  function countAll() {
    document.querySelectorAll("textarea[data-maxlength]").forEach(countText);
  }
  document.addEventListener("DOMContentLoaded", countAll);
  document.addEventListener("htmx:afterSettle", countAll);

  // == Sessions, focus and messages (issue 14, items 1, 7 and 11) ==

  // Was the request the user's own doing (a click, a key, a submit), not a poll, a "load"
  // trigger or another script's htmx.ajax?
  function byTheUser(detail) {
    var config = detail && detail.requestConfig;
    var cause = config && config.triggeringEvent;
    return !!(cause && cause.isTrusted);
  }

  // Messages: an action (any request that is not a GET) starts with a clean slate, so the
  // messages of the action before never stay beside its own outcome (or beside its errors,
  // which show at the fields). Polls and page reads (GET) leave the messages as they are.
  document.addEventListener("htmx:beforeRequest", function (event) {
    var config = event.detail.requestConfig;
    var verb = ((config && config.verb) || "get").toLowerCase();
    var box = document.getElementById("messages");
    if (!box || verb === "get") return;
    var elt = event.detail.elt;
    if (elt && elt.closest && elt.closest("#messages")) return; // e.g. an "Undo" in a message
    box.replaceChildren();
  });

  // Kept input. When the server answers an action with "sign in first" (the session expired,
  // or the user signed out in another tab) or "this page is out of date" (a stale security
  // token), it sends the browser elsewhere (HX-Redirect) with the header X-CRM-Kept-Input.
  // Before the browser leaves, what the user typed in the page's forms is kept in this tab's
  // sessionStorage, by page; when the page shows again (after signing in), it is put back into
  // the same forms, with a message to send it again. Passwords, files and hidden fields (the
  // security token) are never kept.
  var KEPT = "crm:kept-input:";
  var KEPT_FOR_MS = 12 * 60 * 60 * 1000;
  var TEXT_TYPES = ["text", "email", "tel", "url", "number", "search", "date", "time", "datetime-local", "month", "week"];
  var KEPT_SAYS = {
    "signed-out": "You had been signed out, so that was not saved. What you typed is back in the form: check it and send it again.",
    "stale-page": "The page was out of date, so that was not saved. What you typed is back in the form: check it and send it again.",
  };

  function formAction(form) {
    return new URL(form.getAttribute("action") || "", location.href).pathname;
  }

  function formsLike(root, action) {
    var found = [];
    if (root.matches && root.matches("form") && formAction(root) === action) found.push(root);
    root.querySelectorAll("form").forEach(function (form) {
      if (formAction(form) === action) found.push(form);
    });
    return found;
  }

  function typedIn(form) {
    var fields = [];
    Array.prototype.forEach.call(form.elements, function (field) {
      if (!field.name || field.disabled) return;
      var type = (field.type || "").toLowerCase();
      if (field.tagName === "TEXTAREA" || (field.tagName === "INPUT" && TEXT_TYPES.indexOf(type) >= 0)) {
        if (field.value !== field.defaultValue) fields.push({ name: field.name, value: field.value });
      } else if (field.tagName === "SELECT" && !field.multiple) {
        var changed = Array.prototype.some.call(field.options, function (option) {
          return option.selected !== option.defaultSelected;
        });
        if (changed) fields.push({ name: field.name, value: field.value });
      } else if (type === "checkbox" || type === "radio") {
        if (field.checked !== field.defaultChecked) {
          fields.push({ name: field.name, value: field.value, checked: field.checked });
        }
      }
    });
    return fields;
  }

  function keepTyped(why) {
    var forms = [];
    document.querySelectorAll("form").forEach(function (form) {
      var fields = typedIn(form);
      if (!fields.length) return;
      var action = formAction(form);
      var index = formsLike(document, action).indexOf(form);
      forms.push({ action: action, index: index, fields: fields });
    });
    if (!forms.length) return;
    try {
      sessionStorage.setItem(KEPT + location.pathname, JSON.stringify({ why: why, at: Date.now(), forms: forms }));
    } catch (error) {
      // storage full or off: nothing to keep it in
    }
  }

  function putBack(form, fields) {
    var first = null;
    fields.forEach(function (kept) {
      Array.prototype.forEach.call(form.elements, function (field) {
        if (field.name !== kept.name) return;
        var type = (field.type || "").toLowerCase();
        if (type === "checkbox" || type === "radio") {
          if (field.value === kept.value && "checked" in kept) field.checked = kept.checked;
        } else if (type !== "password" && type !== "hidden" && type !== "file") {
          field.value = kept.value;
        } else {
          return;
        }
        first = first || field;
      });
    });
    return first;
  }

  function restoreTyped(root) {
    var key = KEPT + location.pathname;
    var kept = null;
    try {
      kept = JSON.parse(sessionStorage.getItem(key) || "null");
    } catch (error) {
      kept = null;
    }
    if (!kept || !kept.forms || Date.now() - kept.at > KEPT_FOR_MS) {
      if (kept) sessionStorage.removeItem(key);
      return;
    }
    var first = null;
    // A form that is not on the page yet (e.g. the inline edit form) keeps its entry until it is.
    kept.forms = kept.forms.filter(function (entry) {
      var forms = formsLike(root, entry.action);
      var form = forms[entry.index] || forms[0];
      if (!form) return true;
      var field = putBack(form, entry.fields);
      first = first || field;
      return false;
    });
    if (kept.forms.length) sessionStorage.setItem(key, JSON.stringify(kept));
    else sessionStorage.removeItem(key);
    if (!first) return;
    showMessage(KEPT_SAYS[kept.why] || KEPT_SAYS["stale-page"], "info");
    first.focus();
  }

  document.addEventListener("htmx:beforeOnLoad", function (event) {
    var xhr = event.detail.xhr;
    var why = xhr && xhr.getResponseHeader("X-CRM-Kept-Input");
    if (!why) return;
    var next = xhr.getResponseHeader("HX-Redirect");
    if (!byTheUser(event.detail) && why === "signed-out") {
      // A poll (the bell) does not take the user away from what they are doing.
      event.preventDefault();
      var box = document.getElementById("messages");
      if (box && !box.querySelector("[data-signed-out]")) {
        var item = showMessage("You have been signed out.", "warning", { href: next || "/", text: "Sign in again" });
        if (item) item.setAttribute("data-signed-out", "");
      }
      return;
    }
    keepTyped(why);
  });

  // Signing out on purpose forgets what was kept.
  document.addEventListener("submit", function (event) {
    if (!event.target.matches("[data-sign-out]")) return;
    Object.keys(sessionStorage).forEach(function (key) {
      if (key.indexOf(KEPT) === 0) sessionStorage.removeItem(key);
    });
  });

  // On the sign-in page, say that what the user typed waits for them on the page they were on.
  function sayKeptOnSignIn() {
    if (!document.querySelector("form[data-sign-in]")) return;
    var next = new URLSearchParams(location.search).get("next");
    if (!next || next.charAt(0) !== "/" || next.charAt(1) === "/") return;
    if (!sessionStorage.getItem(KEPT + new URL(next, location.href).pathname)) return;
    showMessage("You were signed out. Sign in again: what you typed is kept and goes back into its form.", "info");
  }

  document.addEventListener("htmx:load", function (event) {
    restoreTyped(event.target);
  });
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () {
      restoreTyped(document);
      sayKeptOnSignIn();
    });
  } else {
    restoreTyped(document);
    sayKeptOnSignIn();
  }

  // Focus after a swap the user asked for (sorting, paging, adding a note, a Move, a form
  // sent with errors), so keyboard and screen reader users land on what changed:
  //  1. the first field in error ([aria-invalid="true"]) in the swapped region;
  //  2. else, when another script already put the focus in the region (e.g. a card's Move,
  //     a deleted note's "Undo"), it stays there;
  //  3. else, when the element that sent the request, or the region, carries
  //     data-focus-after-swap: the element its value selects (e.g. the region's heading),
  //     or the region itself, made focusable with tabindex="-1".
  // Polls (the bell) and other scripts' requests never move the focus.
  var settling = null;
  document.addEventListener("htmx:afterSettle", function (event) {
    var detail = event.detail;
    if (!detail || settling === detail || !byTheUser(detail)) return;
    settling = detail; // one settle event per swapped element: act once, after them all
    setTimeout(function () {
      settling = null;
      focusAfterSwap(detail);
    }, 0);
  });

  function focusAfterSwap(detail) {
    var target = detail.target;
    if (!target) return;
    var region = target.isConnected ? target : target.id && document.getElementById(target.id);
    if (!region) return;
    var invalid = region.querySelector('[aria-invalid="true"]');
    if (invalid) {
      var fold = invalid.closest("details");
      if (fold && !fold.open) fold.open = true;
      invalid.focus();
      return;
    }
    var active = document.activeElement;
    if (active && active !== document.body && region.contains(active)) return;
    var elt = detail.requestConfig && detail.requestConfig.elt; // detail.elt: the settled element
    var marker = elt && elt.closest && elt.closest("[data-focus-after-swap]");
    if (!marker && region.hasAttribute("data-focus-after-swap")) marker = region;
    if (!marker) return;
    var selector = marker.getAttribute("data-focus-after-swap");
    var wanted = selector && document.querySelector(selector);
    if (!wanted || !wanted.getClientRects().length) wanted = region; // missing, or not shown here
    if (!wanted.matches("a[href], button, input, select, textarea, [tabindex]")) {
      wanted.setAttribute("tabindex", "-1");
    }
    wanted.focus();
  }
})();
