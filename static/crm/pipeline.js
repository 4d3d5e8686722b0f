// Pipeline board: drag a card onto another column to move the lead there. The move itself is
// the same POST as the card's "Move" menu, sent with htmx; the server answers the new board.
(function () {
  "use strict";
  var dragged = null;

  document.addEventListener("dragstart", function (event) {
    var card = event.target.closest && event.target.closest(".board-card");
    if (!card || card.getAttribute("draggable") !== "true") return; // not the user's to move
    dragged = card;
    card.classList.add("dragging");
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", card.dataset.slug);
  });

  document.addEventListener("dragend", function () {
    if (dragged) dragged.classList.remove("dragging");
    dragged = null;
    document.querySelectorAll(".board-column.drop-target").forEach(function (column) {
      column.classList.remove("drop-target");
    });
  });

  document.addEventListener("dragover", function (event) {
    var column = event.target.closest && event.target.closest(".board-column");
    if (!column || !dragged) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = "move";
    column.classList.add("drop-target");
  });

  document.addEventListener("dragleave", function (event) {
    var column = event.target.closest && event.target.closest(".board-column");
    if (column && !column.contains(event.relatedTarget)) column.classList.remove("drop-target");
  });

  // After a move from a card's menu the board is drawn anew: the keyboard user's focus goes
  // to the moved card (or, when it is not among the cards shown, to its new column's title).
  var moved = null;
  document.addEventListener("htmx:beforeRequest", function (event) {
    var form = event.detail.elt;
    var slug = form && form.closest && form.closest(".move-menu") && form.querySelector("[name=slug]");
    var button = document.activeElement;
    moved = slug ? { slug: slug.value, status: button && button.name === "status" ? button.value : "" } : null;
  });

  document.addEventListener("htmx:afterSettle", function () {
    if (!moved) return;
    var wanted = moved;
    moved = null;
    var link = document.querySelector('.board-card[data-slug="' + CSS.escape(wanted.slug) + '"] a');
    var title = wanted.status && document.getElementById("col-" + wanted.status);
    var target = link || title;
    if (target) target.focus();
  });

  document.addEventListener("drop", function (event) {
    var column = event.target.closest && event.target.closest(".board-column");
    if (!column) return;
    event.preventDefault();
    var slug = event.dataTransfer.getData("text/plain") || (dragged && dragged.dataset.slug);
    var from = dragged && dragged.closest(".board-column");
    if (!slug || (from && from === column)) return;
    var board = document.getElementById("board");
    htmx.ajax("POST", board.dataset.moveUrl, {
      target: "#board",
      swap: "outerHTML",
      values: { slug: slug, status: column.dataset.status, list_type: board.dataset.listType },
    });
  });
})();
