// Starting a job from a form (the appraisal button): forms.js posts it; the answer names the
// job ("job_id" or "id"), whose progress fragment htmx then polls every second until it is done.
(function () {
  'use strict';
  document.addEventListener('restora:done', function (e) {
    const form = e.target;
    if (form.dataset.then !== 'job') return;
    const answer = e.detail || {};
    const id = answer.job_id || (answer.job && answer.job.id) || answer.id;
    const slot = document.getElementById('job-slot');
    if (!id || !slot) return;
    const box = document.createElement('div');
    box.setAttribute('hx-get', slot.dataset.progressUrl.replace('{id}', encodeURIComponent(id)));
    box.setAttribute('hx-trigger', 'load');
    box.setAttribute('hx-swap', 'outerHTML');
    slot.replaceChildren(box);
    window.htmx.process(box);
  });
})();
