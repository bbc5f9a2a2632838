// Moves focus to the first field with an error after a form comes back with messages, or
// else to the outcome htmx just put in place (marked data-takes-focus), so keyboard and
// screen-reader users land where the answer is instead of at the top of the page.
(function () {
  function focusWhereTheAnswerIs(root) {
    var invalid = root.querySelector('[aria-invalid="true"]');
    if (invalid) {
      invalid.focus();
      return;
    }
    var outcome = document.querySelector("[data-takes-focus]");
    if (outcome) {
      outcome.removeAttribute("data-takes-focus");
      outcome.focus();
    }
  }
  // A copy button shows only where the browser lets a page write to the clipboard.
  function offerCopying(root) {
    if (!navigator.clipboard) {
      return;
    }
    root.querySelectorAll("[data-copy][hidden]").forEach(function (button) {
      button.hidden = false;
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    focusWhereTheAnswerIs(document);
    offerCopying(document);
  });
  document.addEventListener("htmx:afterSettle", function (event) {
    focusWhereTheAnswerIs(event.detail.elt);
    offerCopying(document);
  });
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy]");
    if (!button) {
      return;
    }
    var field = document.getElementById(button.getAttribute("data-copy"));
    if (field && navigator.clipboard) {
      navigator.clipboard.writeText(field.value).then(function () {
        button.textContent = "Gekopieerd";
      });
    }
  });
})();
