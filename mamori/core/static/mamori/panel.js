// Progressive enhancement only: every page works without this file. No page has inline script
// (Content-Security-Policy): behaviour is attached here, from data- attributes.
(function () {
  "use strict";

  // Parts of the account form that apply to some privileges only are hidden for the others.
  function syncPrivileges(select) {
    document.querySelectorAll("[data-privileges]").forEach(function (el) {
      el.hidden = el.dataset.privileges.split(" ").indexOf(select.value) === -1;
    });
  }

  // Destructive forms ask first; the question is in the page's language (data-confirm). A
  // button can ask its own question (data-confirm on the button).
  document.addEventListener("submit", function (event) {
    var submitter = event.submitter;
    var question = (submitter && submitter.dataset && submitter.dataset.confirm) ||
      (event.target.dataset && event.target.dataset.confirm);
    if (question && !window.confirm(question)) event.preventDefault();
  });

  document.addEventListener("change", function (event) {
    var el = event.target;
    // A checkbox paired with a hidden "off" value (so that unticking is kept in the URL).
    if (el.matches("[data-pair-off]")) {
      var off = el.form.querySelector('input[type=hidden][name="' + el.name + '"]');
      if (off) off.disabled = el.checked;
    }
    // "Select all" of a list, and the bulk action bar that counts what is chosen.
    if (el.matches("[data-check-all]")) {
      document.querySelectorAll('input[name="' + el.dataset.checkAll + '"]').forEach(function (box) {
        box.checked = el.checked;
      });
    }
    if (el.matches("[data-check-all], input[data-bulk]")) updateBulk();
    // A select that submits its form (the page size).
    if (el.matches("select[data-autosubmit]")) el.form.requestSubmit();
  });

  function updateBulk() {
    var chosen = document.querySelectorAll("input[data-bulk]:checked").length;
    document.querySelectorAll("[data-bulk-count]").forEach(function (el) {
      el.textContent = el.dataset.bulkCount.replace("{n}", chosen);
    });
    document.querySelectorAll("[data-bulk-needs]").forEach(function (el) {
      el.disabled = chosen === 0;
    });
  }

  // The timezone picker: typing filters the list of zones (the server accepts what is typed).
  function filterZones(input) {
    var list = document.getElementById(input.dataset.zoneFilter);
    if (!list) return;
    var text = input.value.trim().toLowerCase();
    list.querySelectorAll("option").forEach(function (option) {
      option.hidden = text !== "" && option.textContent.toLowerCase().indexOf(text) === -1 &&
        option.value.toLowerCase().indexOf(text) === -1;
    });
  }

  document.addEventListener("input", function (event) {
    if (event.target.matches("[data-zone-filter]")) filterZones(event.target);
  });

  // Going back (the 403 page's link) without a javascript: URL, which the policy refuses.
  document.addEventListener("click", function (event) {
    var back = event.target.closest("[data-history-back]");
    if (back && window.history.length > 1) {
      event.preventDefault();
      window.history.back();
    }
  });

  document.addEventListener("DOMContentLoaded", function () {
    var select = document.querySelector("select[name=privilege]");
    if (select) {
      syncPrivileges(select);
      select.addEventListener("change", function () { syncPrivileges(select); });
    }
    updateBulk();
  });
})();
