// Progressive enhancement only: every page works without this file.
// Parts of the account form that apply to some privileges only are hidden for the others.
(function () {
  function sync(select) {
    document.querySelectorAll("[data-privileges]").forEach(function (el) {
      el.hidden = el.dataset.privileges.split(" ").indexOf(select.value) === -1;
    });
  }
  // Destructive forms ask first; the question is in the page's language (data-confirm).
  document.addEventListener("submit", function (event) {
    var question = event.target.dataset && event.target.dataset.confirm;
    if (question && !window.confirm(question)) event.preventDefault();
  });
  document.addEventListener("DOMContentLoaded", function () {
    var select = document.querySelector("select[name=privilege]");
    if (!select) return;
    sync(select);
    select.addEventListener("change", function () { sync(select); });
  });
})();
