// Lead CRM: keyboard shortcuts. "/" searches, "n" starts a new lead, "j" and "k" move to the
// next and previous item of a list (leads, pipeline cards, appointments, tasks, notifications:
// any element marked data-nav-item), "?" lists them all in a dialog (Escape closes it). None of
// them acts while the user types in a field, or with Ctrl, Alt or Meta held (the browser's own).
(function () {
  "use strict";

  var script = document.currentScript;
  var newLeadUrl = script ? script.getAttribute("data-new-lead") : null;
  // The items "j" and "k" move between: rows, cards or links marked data-nav-item (in the
  // page's order), else the leads table's name links. A marked link or button takes the focus
  // itself; a marked row gives it to its first visible link (a lead's or a notification's:
  // Enter opens it), or takes it itself when it has none.
  var NAV_ITEMS = "[data-nav-item], tr[data-slug] td.lead-name a";
  var FOCUSABLE = "a[href], button";
  var SHORTCUTS = [
    ["/", "Search leads"],
    ["n", "New lead"],
    ["j", "Next item in a list"],
    ["k", "Previous item in a list"],
    ["?", "Show these shortcuts"],
    ["Esc", "Close this list"],
  ];

  function typing(target) {
    if (!target || !(target instanceof Element)) return false;
    if (target.isContentEditable) return true;
    var tag = target.tagName;
    if (tag === "TEXTAREA" || tag === "SELECT") return true;
    if (tag !== "INPUT") return false;
    var type = (target.getAttribute("type") || "text").toLowerCase();
    return ["button", "submit", "reset", "checkbox", "radio", "file", "image", "range", "color"].indexOf(type) < 0;
  }

  function visible(element) {
    return !!(element.offsetWidth || element.offsetHeight || element.getClientRects().length);
  }

  function searchBox() {
    // The page's own search (the leads list's filter) first, else the header's.
    var own = document.querySelector("main input[type='search'], main input[name='search']");
    if (own && visible(own)) return own;
    return document.getElementById("global-search");
  }

  function dialog() {
    var existing = document.getElementById("shortcuts-dialog");
    if (existing) return existing;
    var box = document.createElement("dialog");
    box.id = "shortcuts-dialog";
    box.className = "shortcuts-dialog";
    box.setAttribute("aria-labelledby", "shortcuts-title");
    var title = document.createElement("h2");
    title.id = "shortcuts-title";
    title.textContent = "Keyboard shortcuts";
    box.appendChild(title);
    var list = document.createElement("dl");
    list.className = "shortcuts-list";
    SHORTCUTS.forEach(function (entry) {
      if (entry[0] === "n" && !newLeadUrl) return;
      var row = document.createElement("div");
      var key = document.createElement("dt");
      var kbd = document.createElement("kbd");
      kbd.textContent = entry[0];
      key.appendChild(kbd);
      var what = document.createElement("dd");
      what.textContent = entry[1];
      row.appendChild(key);
      row.appendChild(what);
      list.appendChild(row);
    });
    box.appendChild(list);
    var lists = document.createElement("p");
    lists.className = "small muted";
    lists.textContent =
      "Lists: leads, pipeline cards, appointments, tasks and notifications. Enter opens the lead or notification.";
    box.appendChild(lists);
    var note = document.createElement("p");
    note.className = "small muted";
    note.textContent = "Shortcuts do nothing while you type in a field.";
    box.appendChild(note);
    var actions = document.createElement("div");
    actions.className = "btn-row";
    var close = document.createElement("button");
    close.type = "button";
    close.className = "btn";
    close.textContent = "Close";
    close.addEventListener("click", function () { box.close(); });
    actions.appendChild(close);
    box.appendChild(actions);
    // A click on the backdrop (outside the box) closes it too.
    box.addEventListener("click", function (event) {
      if (event.target === box) {
        var r = box.getBoundingClientRect();
        var inside = event.clientX >= r.left && event.clientX <= r.right && event.clientY >= r.top && event.clientY <= r.bottom;
        if (!inside) box.close();
      }
    });
    var opener = null;
    box.addEventListener("close", function () {
      if (opener && document.contains(opener)) opener.focus();
      opener = null;
    });
    box.openFrom = function (element) {
      opener = element;
      box.showModal();
      close.focus();
    };
    document.body.appendChild(box);
    return box;
  }

  function focusTarget(item) {
    if (item.matches(FOCUSABLE)) return item;
    var links = Array.prototype.filter.call(item.querySelectorAll("a[href]:not([download])"), visible);
    if (links.length) return links[0];
    if (!item.hasAttribute("tabindex")) item.setAttribute("tabindex", "-1");
    return item;
  }

  function move(step) {
    var items = Array.prototype.filter.call(document.querySelectorAll(NAV_ITEMS), visible);
    if (!items.length) return false;
    // The current item: the one that has the focus, or holds it (a row's link or button).
    var active = document.activeElement;
    var at = -1;
    items.forEach(function (item, index) {
      if (item === active || item.contains(active)) at = index;
    });
    var next = at < 0 ? (step > 0 ? 0 : items.length - 1) : Math.min(Math.max(at + step, 0), items.length - 1);
    var target = focusTarget(items[next]);
    target.focus();
    if (items[next].scrollIntoView) items[next].scrollIntoView({ block: "nearest" });
    return true;
  }

  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.ctrlKey || event.altKey || event.metaKey) return;
    if (typing(event.target)) return;
    var open = document.getElementById("shortcuts-dialog");
    if (open && open.open) return; // the dialog handles its own keys (Escape closes it)
    var key = event.key;
    if (key === "/") {
      var box = searchBox();
      if (!box) return;
      event.preventDefault();
      box.focus();
      if (box.select) box.select();
    } else if (key === "?") {
      event.preventDefault();
      dialog().openFrom(document.activeElement);
    } else if (key === "n" && newLeadUrl && !event.shiftKey) {
      event.preventDefault();
      window.location.assign(newLeadUrl);
    } else if ((key === "j" || key === "k") && !event.shiftKey) {
      if (move(key === "j" ? 1 : -1)) event.preventDefault();
    }
  });
})();
