// The console's only script: while a training job runs, swap in its progress fragment.
// Pages work without it (reload to refresh); nothing here talks to another origin.
(function () {
  function poll() {
    var box = document.getElementById("job-progress");
    if (!box) return;
    var status = box.getAttribute("data-status");
    if (status !== "queued" && status !== "running") return;
    setTimeout(function () {
      fetch(box.getAttribute("data-poll"), {credentials: "same-origin"})
        .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
        .then(function (html) { box.outerHTML = html; poll(); })
        .catch(function () { setTimeout(poll, 2000); });
    }, 1000);
  }
  document.addEventListener("DOMContentLoaded", poll);
})();
