// Every page: the CSRF token on htmx requests. (No inline scripts: the
// app's CSP allows script files of this server only.)
(function () {
  'use strict';
  function csrf() {
    const m = document.querySelector('meta[name="csrf-token"]');
    return m ? m.content : null;
  }
  window.restoraCsrf = csrf;
  document.addEventListener('htmx:configRequest', function (e) {
    const token = csrf();
    if (token) e.detail.headers['X-CSRF-Token'] = token;
  });
})();
