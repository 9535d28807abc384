// The console's progressive enhancement, served by tracker at /admin/console.js (no inline
// script: the Content-Security-Policy forbids it).  Every page works without it.
(function () {
  "use strict";
  // A button with data-confirm asks before its form is sent (revoke a key, erase a person…).
  document.addEventListener("submit", function (event) {
    var button = event.submitter;
    var question = button && button.getAttribute("data-confirm");
    if (question && !window.confirm(question)) event.preventDefault();
  });
  // A select with data-autosubmit sends its form when changed (filters, language).
  document.addEventListener("change", function (event) {
    var field = event.target;
    if (field && field.hasAttribute && field.hasAttribute("data-autosubmit") && field.form) field.form.requestSubmit();
  });
})();
