"""The kinds of background job: each a module with ``STEPS``, ``prepare`` and ``run``.

- ``STEPS``: the job's stages in order (its progress is the index of the stage running over
  their number; the web page shows them);
- ``prepare(store, params) -> params``: checks the parameters at submission (an
  :class:`~restora.errors.InputError` naming the field) and completes them (defaults fixed
  now, so that a re-run does the same work);
- ``run(ctx, params) -> result``: does the work, calling ``ctx.stage(name)`` as each stage
  starts (where a cancellation stops it), and returns a JSON-ready result. It must be
  idempotent: a re-run after a worker died never gives a different result.

See restora.service.jobs and docs/jobs.md.
"""

from __future__ import annotations

TASKS: dict[str, str] = {
    "appraisal": "restora.service.tasks.appraisal",
}
"""Kind of job → module of its task."""
