// The registry's venues: the cash desk's form posts to the chosen account's money
// (/api/v1/registry/accounts/{id}/money), and the weighbridge upload
// (<form data-upload-form action="…/weighbridge">) sends its file as multipart form data with
// the CSRF token; a refusal shows the problem with each error's file, row and column.
(function () {
  'use strict';
  function target(form) {
    const select = form.querySelector('select[data-account-target]');
    if (select) form.setAttribute('action', '/api/v1/registry/accounts/' + encodeURIComponent(select.value) + '/money');
  }
  // the approved-surplus form posts to the mine typed in it
  function mine(form) {
    const input = form.querySelector('input[data-mine-target]');
    if (input && input.value.trim()) form.setAttribute('action', '/api/v1/registry/earth-stone/' + encodeURIComponent(input.value.trim()) + '/surplus');
  }
  document.querySelectorAll('form[data-money-form]').forEach(target);
  document.querySelectorAll('form[data-surplus-form]').forEach(mine);
  document.addEventListener('change', function (e) {
    const form = e.target.closest('form[data-money-form]');
    if (form) target(form);
    const sform = e.target.closest('form[data-surplus-form]');
    if (sform) mine(sform);
  });
  document.addEventListener('input', function (e) {
    const sform = e.target.closest('form[data-surplus-form]');
    if (sform) mine(sform);
  });
  async function upload(form) {
    const box = form.querySelector('.form-error');
    const list = form.querySelector('.upload-errors');
    if (box) box.hidden = true;
    if (list) list.innerHTML = '';
    const headers = {Accept: 'application/json'};
    const token = window.restoraCsrf && window.restoraCsrf();
    if (token) headers['X-CSRF-Token'] = token;
    const buttons = form.querySelectorAll('button');
    buttons.forEach(function (b) { b.disabled = true; });
    try {
      const r = await fetch(form.getAttribute('action'), {
        method: 'POST', credentials: 'same-origin', headers: headers, body: new FormData(form),
      });
      let answer = null;
      try { answer = await r.json(); } catch (e) { answer = null; }
      if (!r.ok) {
        if (box) {
          box.textContent = (answer && answer.errors && form.dataset.textFailed) || (answer && (answer.detail || answer.title)) || (r.status + ' ' + r.statusText);
          box.hidden = false;
        }
        ((answer && answer.errors) || []).forEach(function (err) {
          if (!list) return;
          const li = document.createElement('li');
          li.textContent = [err.file, err.row != null ? (form.dataset.textRow || 'row') + ' ' + err.row : null, err.field, err.message]
            .filter(function (x) { return x; }).join(' · ');
          list.appendChild(li);
        });
        return;
      }
      window.location.reload();
    } catch (e) {
      if (box) { box.textContent = String(e); box.hidden = false; }
    } finally {
      buttons.forEach(function (b) { b.disabled = false; });
    }
  }
  document.addEventListener('submit', function (e) {
    const form = e.target.closest('form[data-upload-form]');
    if (!form) return;
    e.preventDefault();
    upload(form);
  });
})();
