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

  // The timezone picker: typing filters the list of zones, and the first zone found is chosen.
  // What is typed is read as the server's timezone_parse reads it: a city or IANA name in any
  // case, with spaces for underscores ("new york"), an abbreviation ("JST", the server's list
  // in data-zone-abbreviations) or an offset ("UTC+9", "+09:00"), which finds the zones whose
  // label shows that offset.
  function zoneNeedles(input) {
    var text = input.value.trim().toLowerCase();
    if (text === "") return [];
    var needles = [text, text.replace(/ /g, "_")];
    var abbreviations = JSON.parse(input.dataset.zoneAbbreviations || "{}");
    var named = abbreviations[text.toUpperCase()];
    if (named) needles.push(named.toLowerCase());
    var offset = /^(?:utc|gmt)?\s*([+-])\s*(\d{1,2})(?::?(\d{2}))?$/.exec(text);
    if (offset) {
      var hours = ("0" + offset[2]).slice(-2);
      needles.push("(utc" + offset[1] + hours + ":" + (offset[3] || "00") + ")");
    }
    return needles;
  }

  function filterZones(input) {
    var list = document.getElementById(input.dataset.zoneFilter);
    if (!list) return;
    var needles = zoneNeedles(input);
    var first = null;
    list.querySelectorAll("option").forEach(function (option) {
      var haystack = (option.textContent + " " + option.value).toLowerCase();
      var found = needles.length === 0 || needles.some(function (needle) {
        return haystack.indexOf(needle) !== -1;
      });
      option.hidden = !found;
      if (found && first === null) first = option;
    });
    if (needles.length && first) list.value = first.value;
    var none = input.parentNode.querySelector("[data-zone-nomatch]");
    if (none) none.hidden = !(needles.length && first === null);
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
    // A page that is meant to be printed (an enrollment token's) has a Print button.
    if (event.target.closest("[data-print]")) window.print();
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
