// Every page: the CSRF token on htmx requests, the sign-out button. (No inline scripts: the
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
  document.addEventListener('click', function (e) {
    const b = e.target.closest('[data-signout]');
    if (!b) return;
    e.preventDefault();
    const headers = {};
    const token = csrf();
    if (token) headers['X-CSRF-Token'] = token;
    fetch(b.dataset.signout, {method: 'DELETE', credentials: 'same-origin', headers: headers})
      .finally(function () { window.location.assign('/signin'); });
  });
})();
