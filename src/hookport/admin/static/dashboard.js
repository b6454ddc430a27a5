// The dashboard's few lines of script (no build step, no dependencies): live parts of a page
// re-fetched every few seconds, confirmed forms posted without leaving the page, copy buttons.
// Everything works without it too: forms post and redirect, a reload shows what is new.
"use strict";
(() => {
  const EVERY_MS = 2000;
  const MAX_POLLS = 1800; // an hour of polling at most; then a note asks for a reload

  function poll(region) {
    let polls = 0;
    let busy = false;
    async function refresh() {
      if (busy) return;
      busy = true;
      try {
        const answer = await fetch(region.dataset.live, { credentials: "same-origin" });
        if (answer.ok) {
          region.innerHTML = await answer.text();
          region.dataset.updated = String(Date.now());
        } else if (answer.status === 401) {
          stop("Signed out: reload to sign in again.");
        }
      } catch (_) {
        // the server is away for a moment: the next tick tries again
      } finally {
        busy = false;
      }
    }
    const timer = setInterval(() => {
      if (document.hidden) return;
      polls += 1;
      if (polls > MAX_POLLS) stop("Live updates paused: reload to resume.");
      else refresh();
    }, EVERY_MS);
    function stop(why) {
      clearInterval(timer);
      const note = document.createElement("p");
      note.className = "warn";
      note.textContent = why;
      region.before(note);
    }
    region.refresh = refresh;
  }

  async function copy(text, button) {
    try {
      await navigator.clipboard.writeText(text);
    } catch (_) {
      const area = document.createElement("textarea");
      area.value = text;
      document.body.append(area);
      area.select();
      document.execCommand("copy");
      area.remove();
    }
    const label = button.textContent;
    button.textContent = "Copied";
    setTimeout(() => { button.textContent = label; }, 1500);
  }

  document.addEventListener("click", (event) => {
    const button = event.target.closest("button[data-copy], button[data-copy-from]");
    if (!button) return;
    const source = button.dataset.copyFrom && document.getElementById(button.dataset.copyFrom);
    copy(source ? source.textContent : button.dataset.copy || "", button);
  });

  document.addEventListener("submit", async (event) => {
    const form = event.target.closest("form[data-async]");
    if (!form) return;
    event.preventDefault();
    const button = form.querySelector("button[type=submit]");
    if (button) button.disabled = true;
    try {
      const answer = await fetch(form.action, {
        method: "POST",
        body: new URLSearchParams(new FormData(form)),
        credentials: "same-origin",
      });
      if (!answer.ok) throw new Error(String(answer.status));
      const details = form.closest("details");
      if (details) details.open = false;
      document.querySelectorAll("[data-live]").forEach((r) => r.refresh && r.refresh());
    } catch (_) {
      form.submit(); // let the server's answer page say what went wrong
    } finally {
      if (button) button.disabled = false;
    }
  });

  document.querySelectorAll("[data-live]").forEach(poll);
})();
