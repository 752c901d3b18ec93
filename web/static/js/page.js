// Behaviour of the page frame, wired here rather than in on* attributes: the
// Content-Security-Policy runs no inline handlers.
document.addEventListener('DOMContentLoaded', function () {
  var basemap = document.getElementById('basemap-select');
  if (basemap) { basemap.addEventListener('change', function () { basemap.form.submit(); }); }
  document.querySelectorAll('.gm-flash .gm-close').forEach(function (b) {
    b.addEventListener('click', function () { b.parentNode.remove(); });
  });
  document.querySelectorAll('[data-gm-print]').forEach(function (b) {
    b.addEventListener('click', function () { window.print(); });
  });
  document.querySelectorAll('[data-gm-back]').forEach(function (a) {
    a.addEventListener('click', function (e) { e.preventDefault(); history.back(); });
  });
});
