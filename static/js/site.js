// Moves focus to the first field with an error after a form comes back with messages,
// so keyboard and screen-reader users land where the problem is.
(function () {
  function focusFirstError(root) {
    var invalid = root.querySelector('[aria-invalid="true"]');
    if (invalid) {
      invalid.focus();
    }
  }
  document.addEventListener("DOMContentLoaded", function () {
    focusFirstError(document);
  });
  document.addEventListener("htmx:afterSettle", function (event) {
    focusFirstError(event.detail.elt);
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
