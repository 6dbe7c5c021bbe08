// Small progressive enhancements. Every page works without this file.

function showError(text) {
  const banner = document.getElementById("ajax-error");
  if (!banner) return;
  banner.textContent = text;
  banner.hidden = false;
}

document.addEventListener("DOMContentLoaded", () => {
  // Live character counters: <textarea maxlength="N" data-counter="id-of-output">
  document.body.addEventListener("input", (event) => {
    const field = event.target;
    const counterId = field.dataset && field.dataset.counter;
    if (!counterId) return;
    const counter = document.getElementById(counterId);
    const max = Number(field.getAttribute("maxlength") || 0);
    if (counter) {
      counter.textContent = `${field.value.length} / ${max}`;
      counter.classList.toggle("over", max > 0 && field.value.length > max);
    }
  });

  // After a swap, focus what the trigger names (data-focus-after="#selector"), so a keyboard
  // user who opened a list lands on it rather than at the top of the page.
  document.body.addEventListener("htmx:afterSettle", (event) => {
    const trigger = event.detail.requestConfig && event.detail.requestConfig.elt;
    const selector = trigger && trigger.dataset && trigger.dataset.focusAfter;
    const target = selector && document.querySelector(selector);
    if (target) target.focus();
  });

  // A request htmx could not show (403, 500, network down): say so instead of doing nothing.
  document.body.addEventListener("htmx:responseError", (event) => {
    showError(`That didn't work (${event.detail.xhr.status}). Reload the page and try again.`);
  });
  document.body.addEventListener("htmx:sendError", () => {
    showError("The portal can't be reached. Check your connection and try again.");
  });
});

// Copy buttons (share links, a new API token, a webhook signing secret): a button with
// data-copy="<field id>" and data-copy-status="<live region id>"; Share… where the device
// has a share sheet. Both stay hidden without this file or without the feature.
document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("[data-copy]").forEach((button) => {
    button.hidden = false;
    button.addEventListener("click", async () => {
      const field = document.getElementById(button.dataset.copy);
      const status = document.getElementById(button.dataset.copyStatus);
      if (!field) return;
      let copied = false;
      try {
        await navigator.clipboard.writeText(field.value);
        copied = true;
      } catch (_error) {
        field.select();  // an older browser, or one that refuses the clipboard API here
        copied = document.execCommand && document.execCommand("copy");
      }
      if (status) {
        // Cleared first, so that a second copy is announced again.
        status.textContent = "";
        setTimeout(() => {
          status.textContent = copied ? "Copied" : "Press Ctrl+C (or ⌘C) to copy the selected text";
        }, 50);
      }
    });
  });
  if (navigator.share) {
    document.querySelectorAll("[data-share-url]").forEach((button) => {
      button.hidden = false;
      button.addEventListener("click", () => {
        navigator
          .share({ title: button.dataset.shareTitle, url: button.dataset.shareUrl })
          .catch(() => {});  // the person closed the share sheet
      });
    });
  }
});
