// Forms that write through the API: <form data-api-form action="/api/v1/…" method="post"
// data-encoding="json|multipart" data-success="/where/{field}">. The form is sent with fetch
// (the CSRF token in X-CSRF-Token), a problem's errors are shown beside their fields, and on
// success the browser goes to data-success with {field} taken from the JSON answer (or, with
// data-then="poll", the answer's job is watched: see appraise handling below).
(function () {
  'use strict';
  function fill(template, body) {
    return template.replace(/\{([a-z_]+)\}/g, function (_, k) {
      return encodeURIComponent(body && body[k] != null ? body[k] : '');
    });
  }
  function showErrors(form, problem, status) {
    form.querySelectorAll('.field-error').forEach(function (n) { n.remove(); });
    const box = form.querySelector('.form-error');
    const errors = (problem && problem.errors) || [];
    let placed = 0;
    errors.forEach(function (err) {
      const name = String(err.field || '').split('.').pop();
      const input = name && form.querySelector('[name="' + name + '"]');
      if (input) {
        const note = document.createElement('span');
        note.className = 'field-error';
        note.textContent = err.message;
        input.insertAdjacentElement('afterend', note);
        placed += 1;
      }
    });
    if (box) {
      // the page's own words for a status (in the page's language), else the API's detail
      const own = status && form.dataset['text' + status];
      box.textContent = own || (problem && (problem.detail || problem.title)) || form.dataset.textFailed || 'Error';
      box.hidden = false;
    }
  }
  async function submit(form) {
    const headers = {Accept: 'application/json'};
    const token = window.restoraCsrf && window.restoraCsrf();
    if (token) headers['X-CSRF-Token'] = token;
    let body;
    if (form.dataset.encoding === 'json') {
      const data = {};
      new FormData(form).forEach(function (v, k) {
        if (v === '') return;
        const input = form.querySelector('[name="' + k + '"]');
        data[k] = input && input.type === 'number' ? Number(v) : v;
      });
      body = JSON.stringify(data);
      headers['Content-Type'] = 'application/json';
    } else {
      body = new FormData(form);
      Array.from(body.keys()).forEach(function (k) {
        const v = body.get(k);
        if (v === '' || (v instanceof File && v.size === 0 && !v.name)) body.delete(k);
      });
    }
    const button = form.querySelector('[type="submit"]');
    if (button) button.disabled = true;
    try {
      const r = await fetch(form.getAttribute('action'), {
        method: (form.getAttribute('method') || 'post').toUpperCase(),
        credentials: 'same-origin', headers: headers, body: body,
      });
      const text = await r.text();
      let answer = null;
      try { answer = text ? JSON.parse(text) : null; } catch (e) { answer = null; }
      if (!r.ok) { showErrors(form, answer || {detail: r.status + ' ' + r.statusText}, r.status); return; }
      form.dispatchEvent(new CustomEvent('restora:done', {detail: answer, bubbles: true}));
      if (form.dataset.success) window.location.assign(fill(form.dataset.success, answer));
    } catch (e) {
      showErrors(form, {detail: String(e)});
    } finally {
      if (button) button.disabled = false;
    }
  }
  document.addEventListener('submit', function (e) {
    const form = e.target.closest('form[data-api-form]');
    if (!form) return;
    e.preventDefault();
    submit(form);
  });
})();
