// Small progressive enhancements. Every page works without this file.
document.addEventListener("DOMContentLoaded", () => {
  // Live character counters: <textarea data-counter="id-of-output" maxlength="N">
  document.body.addEventListener("input", (event) => {
    const field = event.target;
    const counterId = field.dataset && field.dataset.counter;
    if (!counterId) return;
    const counter = document.getElementById(counterId);
    const max = Number(field.getAttribute("maxlength") || field.dataset.max || 0);
    if (counter) {
      counter.textContent = `${field.value.length} / ${max}`;
      counter.classList.toggle("over", max > 0 && field.value.length > max);
    }
  });
});
