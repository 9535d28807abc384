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
  // Campaign editor: the preview frame follows the form (the Preview button does the same without JS).
  var previewTimer = 0;
  document.addEventListener("input", function (event) {
    var form = event.target && event.target.form;
    var frame = form && document.getElementById(form.getAttribute("data-campaign-preview") || "");
    if (!frame) return;
    clearTimeout(previewTimer);
    previewTimer = setTimeout(function () {
      var data = new FormData(form);
      ["csrf", "comment", "base_version"].forEach(function (name) { data.delete(name); });
      frame.src = frame.getAttribute("data-preview-base") + "?" + new URLSearchParams(data).toString();
    }, 300);
  });
  // A button with data-copy="#id" copies that element's text (an input's value) to the clipboard:
  // snippets, one-time links, new API keys.  Without JS the text is there to select by hand.
  document.addEventListener("click", function (event) {
    var button = event.target && event.target.closest ? event.target.closest("[data-copy]") : null;
    if (!button) return;
    var source = document.querySelector(button.getAttribute("data-copy"));
    if (!source) return;
    var text = "value" in source ? source.value : source.textContent;
    var done = function () { button.setAttribute("data-copied", ""); };
    // Without clipboard access (plain http, a refused permission) the text is selected for Ctrl+C.
    var select = function () {
      var range = document.createRange();
      range.selectNodeContents(source);
      window.getSelection().removeAllRanges();
      window.getSelection().addRange(range);
      if (source.select) source.select();
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, select);
    } else {
      select();
    }
  });
})();
