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

// A page showing work in progress (an import, a rescoring pass) reloads itself until the work
// is done, unless the reader has started typing in one of its forms.
const refresh = document.querySelector("[data-refresh]");
if (refresh) {
  let typed = false;
  document.addEventListener("input", () => (typed = true));
  setTimeout(() => typed || location.reload(), Number(refresh.dataset.refresh) * 1000);
}

// The list's "tick all" box ticks every lead of the page for a bulk action.
const tickAll = document.getElementById("tick-all");
if (tickAll) {
  tickAll.addEventListener("change", () => {
    document.querySelectorAll('input[name=lead][form=bulk]').forEach((box) => (box.checked = tickAll.checked));
  });
}

// A logged interaction offers only the outcomes of its type (a call is never "bounced").
const logForm = document.getElementById("log");
if (logForm) {
  const type = logForm.querySelector("select[name=type]");
  const outcome = logForm.querySelector("select[name=outcome]");
  const fit = () => {
    outcome.querySelectorAll("optgroup").forEach((group) => {
      const mine = group.dataset.for === type.value;
      group.hidden = !mine;
      group.disabled = !mine;
    });
    if (outcome.selectedOptions[0] && outcome.selectedOptions[0].parentElement.disabled) outcome.value = "";
  };
  type.addEventListener("change", fit);
  fit();
}

const board = document.querySelector(".board");
if (board && board.dataset.canWork === "true") {
  const csrf = document.body.dataset.csrf;
  const errorBox = document.getElementById("board-error");
  const dialog = document.getElementById("reason-dialog");
  let dragged = null;

  const showError = (text) => {
    errorBox.textContent = text;
    errorBox.hidden = !text;
  };

  // Asks for a reason in the page's dialog; resolves to the reason, or "" when cancelled.
  const askReason = (why) =>
    new Promise((resolve) => {
      const input = dialog.querySelector("input[name=reason]");
      dialog.querySelector("#reason-why").textContent = why;
      input.value = "";
      dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok" ? input.value.trim() : ""), { once: true });
      dialog.showModal();
    });

  // A column's count, kept true as cards come and go ("30+" stays: the column holds more).
  const recount = (column, delta) => {
    const count = column.querySelector(".count");
    if (count && count.dataset.more !== "true") {
      const n = Number(count.textContent.replace(/\D/g, "")) + delta;
      count.textContent = new Intl.NumberFormat(document.documentElement.lang).format(n);
    }
  };

  // The card takes its place by score, as the columns are sorted.
  const place = (card, column) => {
    const score = Number(card.dataset.score);
    const after = [...column.querySelectorAll(".card")].find((c) => c !== card && Number(c.dataset.score) < score);
    column.insertBefore(card, after || null);
    card.querySelectorAll(".move-to option").forEach((o) => (o.hidden = o.value === column.dataset.stage));
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
      const from = card.closest(".column");
      place(card, column);
      recount(from, -1);
      recount(column, +1);
      showError("");
      return;
    }
    if (!reason && answer.needs_reason) {
      const given = await askReason(answer.error);
      if (given) return move(card, column, given);
    }
    showError(answer.error || "refused");
  };

  // Won or lost from a card: the deal value or the reason in a dialog, then the card
  // leaves the board (customers and lost leads are not columns).
  const outcomeDialog = document.getElementById("outcome-dialog");
  const close = (card, result) =>
    new Promise((resolve) => {
      const form = outcomeDialog.querySelector("form");
      form.reset();
      form.querySelector("[name=result]").value = result;
      outcomeDialog.querySelectorAll(".won-only").forEach((el) => (el.hidden = result !== "won"));
      outcomeDialog.querySelectorAll(".lost-only").forEach((el) => (el.hidden = result !== "lost"));
      outcomeDialog.addEventListener("close", () => resolve(outcomeDialog.returnValue === "ok"), { once: true });
      outcomeDialog.showModal();
    }).then(async (confirmed) => {
      if (!confirmed) return;
      const form = outcomeDialog.querySelector("form");
      const body = new URLSearchParams({
        csrf,
        result,
        value: form.querySelector("[name=value]").value,
        reason: form.querySelector("[name=reason]").value,
        lost_to: "disqualified",
      });
      const response = await fetch(`/leads/${card.dataset.lead}/outcome`, {
        method: "POST",
        headers: { Accept: "application/json" },
        body,
      });
      const answer = await response.json().catch(() => ({ ok: false, error: response.statusText }));
      if (!answer.ok) return showError(answer.error || "refused");
      recount(card.closest(".column"), -1);
      card.remove();
      showError("");
    });

  board.addEventListener("change", (e) => {
    const select = e.target.closest(".move-to");
    if (!select || !select.value) return;
    const card = select.closest(".card");
    if (select.value === "won" || select.value === "lost") {
      const result = select.value;
      select.value = "";
      close(card, result);
      return;
    }
    const column = board.querySelector(`.column[data-stage="${select.value}"]`);
    select.value = "";
    if (card && column) move(card, column);
  });
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
