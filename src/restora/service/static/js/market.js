// Forms of the project library and the market: <form data-market-form action="/api/v1/market/…"
// method="post|patch" data-success="/library/{id}|reload">. Fields are sent as JSON: a name with
// dots makes nested objects (settings.access_claims), <input type=number> and data-kind="number"
// numbers, checkboxes with data-list arrays of the checked values, data-kind="list" a comma-
// separated text as an array. The CSRF token goes in X-CSRF-Token; a problem's errors are shown
// beside the field its path names (collateral.0 → collateral).
(function () {
  'use strict';
  function put(obj, path, value) {
    const keys = path.split('.');
    let cur = obj;
    keys.slice(0, -1).forEach(function (k) {
      if (typeof cur[k] !== 'object' || cur[k] === null) cur[k] = {};
      cur = cur[k];
    });
    cur[keys[keys.length - 1]] = value;
  }
  function collect(form) {
    const data = {};
    const lists = {};
    form.querySelectorAll('[name]').forEach(function (el) {
      const name = el.name;
      if (!name || name === 'csrf_token' || el.disabled) return;
      if (el.type === 'checkbox' && el.hasAttribute('data-list')) {
        if (!lists[name]) lists[name] = [];
        if (el.checked) lists[name].push(el.value);
        return;
      }
      if (el.type === 'checkbox') { put(data, name, el.checked); return; }
      if (el.type === 'radio' && !el.checked) return;
      const v = el.value.trim();
      if (v === '') return;
      if (el.dataset.kind === 'list') {
        put(data, name, v.split(/[,，\s]+/).filter(function (x) { return x; }));
      } else if (el.type === 'number' || el.dataset.kind === 'number') {
        put(data, name, Number(v));
      } else {
        put(data, name, v);
      }
    });
    Object.keys(lists).forEach(function (k) { put(data, k, lists[k]); });
    return data;
  }
  function fieldFor(form, path) {
    const parts = String(path || '').split('.');
    while (parts.length) {
      const name = parts.join('.');
      const el = form.querySelector('[name="' + name + '"]');
      if (el) return el;
      parts.pop();
    }
    return null;
  }
  function showErrors(form, problem) {
    form.querySelectorAll('.field-error').forEach(function (n) { n.remove(); });
    const box = form.querySelector('.form-error');
    ((problem && problem.errors) || []).forEach(function (err) {
      const el = fieldFor(form, err.field);
      if (!el) return;
      const note = document.createElement('span');
      note.className = 'field-error';
      note.textContent = err.message;
      (el.closest('label') || el).insertAdjacentElement('afterend', note);
    });
    if (box) {
      box.textContent = (problem && (problem.detail || problem.title)) || form.dataset.textFailed || 'Error';
      box.hidden = false;
    }
  }
  async function submit(form, submitter) {
    const headers = {Accept: 'application/json', 'Content-Type': 'application/json'};
    const token = window.restoraCsrf && window.restoraCsrf();
    if (token) headers['X-CSRF-Token'] = token;
    const data = collect(form);
    if (submitter && submitter.name) put(data, submitter.name, submitter.value);
    const buttons = form.querySelectorAll('button');
    buttons.forEach(function (b) { b.disabled = true; });
    try {
      const r = await fetch(form.getAttribute('action'), {
        method: (form.getAttribute('method') || 'post').toUpperCase(),
        credentials: 'same-origin', headers: headers,
        body: form.hasAttribute('data-no-body') ? undefined : JSON.stringify(data),
      });
      const text = await r.text();
      let answer = null;
      try { answer = text ? JSON.parse(text) : null; } catch (e) { answer = null; }
      if (!r.ok) { showErrors(form, answer || {detail: r.status + ' ' + r.statusText}); return; }
      const target = form.dataset.success || 'reload';
      if (target === 'reload') { window.location.reload(); return; }
      window.location.assign(target.replace(/\{([a-z_]+)\}/g, function (_, k) {
        return encodeURIComponent(answer && answer[k] != null ? answer[k] : '');
      }));
    } catch (e) {
      showErrors(form, {detail: String(e)});
    } finally {
      buttons.forEach(function (b) { b.disabled = false; });
    }
  }
  document.addEventListener('submit', function (e) {
    const form = e.target.closest('form[data-market-form]');
    if (!form) return;
    e.preventDefault();
    submit(form, e.submitter);
  });
  // the publish form: the versions of the chosen project
  document.addEventListener('change', function (e) {
    const select = e.target.closest('select[data-versions]');
    if (!select) return;
    const versions = JSON.parse(select.selectedOptions[0].dataset.versions || '[]');
    const target = document.getElementById(select.dataset.versions);
    if (!target) return;
    target.innerHTML = '';
    versions.forEach(function (v) {
      const o = document.createElement('option');
      o.value = v; o.textContent = 'v' + v;
      target.appendChild(o);
    });
  });
})();
