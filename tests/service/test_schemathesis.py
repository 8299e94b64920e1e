"""Schemathesis against the app's OpenAPI document: no 5xx, every response as documented.

Every operation of ``/api/v1/openapi.json`` is called with a few examples generated from its
schema — data that fits it and data that does not, ``MAX_EXAMPLES`` of each with Hypothesis
derandomised (the same examples on every run) — as an admin, on a throwaway copy of the demo
county store (conftest's module store: writes that succeed pollute nothing else). Each
response must not be a server error and must conform to the document: its status code
documented, its content type and body those of the schema (problem details,
``application/problem+json``, for every 4XX).

The operations are walked in one test (schemathesis' pytest plugin cannot take the app from a
fixture under pytest 9); a failure lists every operation that broke, with the example.
"""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

MAX_EXAMPLES = 4
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
#: Operations not called: starting an appraisal queues a job of minutes (tests/service/
#: test_api_projects.py runs one and follows it).
SKIPPED = frozenset({"POST /api/v1/projects/{project_id}/appraisals"})


def _as(principal):
    async def authenticate(request):
        return principal

    return authenticate


def test_the_api_keeps_its_document(app):
    from restora.service.auth import principal_of
    from restora.service.credentials import new_account
    from restora.store.audit import Change

    account = new_account(
        app.state.store.engine,
        username="schemathesis",
        role="admin",
        password=None,
        change=Change("tests", user="tests"),
    )
    app.state.authenticate = _as(principal_of(account, "token"))
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)
    failures: dict[str, str] = {}
    called = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        label = f"{operation.method.upper()} {operation.path}"
        if label in SKIPPED:
            continue
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            _walk(operation.as_strategy(generation_mode=mode), label, failures)
            called += 1
    assert called > 60, called  # every resource of issue 13 is in the document
    assert not failures, "\n\n".join(f"{k}\n{v}" for k, v in sorted(failures.items()))


def _walk(strategy, label: str, failures: dict[str, str]) -> None:
    """Call one operation with the examples of ``strategy``; note its first failure."""

    @settings(
        max_examples=MAX_EXAMPLES,
        derandomize=True,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def run(case):
        if label in failures:
            return
        try:
            case.call_and_validate(checks=CHECKS)
        except (Exception, BaseExceptionGroup) as exc:  # the checks' failures, with the example
            failures[label] = f"{case.method} {case.formatted_path}: {exc}"[:2000]

    try:
        run()
    except Unsatisfiable:  # nothing to generate: e.g. no parameter that could be made invalid
        return
