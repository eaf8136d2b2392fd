// Leadgate dashboard: the little interaction plain forms cannot do. The language menu
// submits on change; the board moves a lead when its card is dropped on another stage.
"use strict";

document.querySelectorAll("select[data-autosubmit]").forEach((select) => {
  select.addEventListener("change", () => {
    const back = select.form.querySelector("input[name=back]");
    if (back) back.value = location.pathname + location.search;
    select.form.submit();
  });
});

// A page showing work in progress (an import) reloads itself until the work is done.
const refresh = document.querySelector("[data-refresh]");
if (refresh) setTimeout(() => location.reload(), Number(refresh.dataset.refresh) * 1000);

// The list's "tick all" box ticks every lead of the page for a bulk action.
const tickAll = document.getElementById("tick-all");
if (tickAll) {
  tickAll.addEventListener("change", () => {
    document.querySelectorAll('input[name=lead][form=bulk]').forEach((box) => (box.checked = tickAll.checked));
  });
}

const board = document.querySelector(".board");
if (board && board.dataset.canWork === "true") {
  const csrf = document.body.dataset.csrf;
  const errorBox = document.getElementById("board-error");
  let dragged = null;

  const showError = (text) => {
    errorBox.textContent = text;
    errorBox.hidden = !text;
  };

  // Posts the move; the server answers {ok} or {error}. A move that needs a reason asks
  // for one and tries again.
  const move = async (card, column, reason) => {
    const body = new URLSearchParams({ csrf, to: column.dataset.stage, reason: reason || "" });
    const response = await fetch(`/leads/${card.dataset.lead}/move`, {
      method: "POST",
      headers: { Accept: "application/json" },
      body,
    });
    const answer = await response.json().catch(() => ({ ok: false, error: response.statusText }));
    if (answer.ok) {
      column.appendChild(card);
      showError("");
      return;
    }
    if (!reason && /reason/i.test(answer.error || "")) {
      const given = window.prompt(`${board.dataset.askReason}\n${answer.error}`);
      if (given) return move(card, column, given);
    }
    showError(answer.error || "refused");
  };

  board.addEventListener("dragstart", (e) => {
    dragged = e.target.closest(".card");
    if (!dragged) return;
    dragged.classList.add("moving");
    e.dataTransfer.setData("text/plain", dragged.dataset.lead);
    e.dataTransfer.effectAllowed = "move";
  });
  board.addEventListener("dragend", () => {
    if (dragged) dragged.classList.remove("moving");
    board.querySelectorAll(".column.drop").forEach((c) => c.classList.remove("drop"));
  });
  board.querySelectorAll(".column").forEach((column) => {
    column.addEventListener("dragover", (e) => {
      e.preventDefault();
      column.classList.add("drop");
    });
    column.addEventListener("dragleave", () => column.classList.remove("drop"));
    column.addEventListener("drop", (e) => {
      e.preventDefault();
      column.classList.remove("drop");
      if (dragged && dragged.parentElement !== column) move(dragged, column);
    });
  });
}
