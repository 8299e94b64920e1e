"""``restora registry verify-proof``: exit 0 when the proof verifies, 1 when not, 2 when the
file is malformed — one line naming the file (and field), no traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from restora.cli import app

TESTDATA = Path(__file__).resolve().parents[1] / "data" / "transparency-dev-merkle" / "testdata"
HAPPY_INCLUSION = TESTDATA / "inclusion" / "3" / "happy-path.json"
HAPPY_CONSISTENCY = TESTDATA / "consistency" / "3" / "happy-path.json"


def _run(*args: str):
    return CliRunner().invoke(app, ["registry", "verify-proof", *args])


@pytest.mark.parametrize("path", [HAPPY_INCLUSION, HAPPY_CONSISTENCY], ids=["incl", "cons"])
def test_a_happy_path_verifies(path: Path):
    r = _run(str(path), "-f", "json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["verifies"] is True
    assert out["kind"] == ("inclusion" if "inclusion" in str(path) else "consistency")


@pytest.mark.parametrize(
    "path",
    [
        TESTDATA / "inclusion" / "3" / "preceding-garbage.json",
        TESTDATA / "inclusion" / "single-entry" / "empty-leaf.json",
        TESTDATA / "consistency" / "3" / "swapped-roots.json",
        TESTDATA / "consistency" / "additional" / "size1-is-zero-and-size2-is-not-zero.json",
    ],
    ids=lambda p: p.name,
)
def test_an_adversarial_case_does_not_verify(path: Path):
    r = _run(str(path))
    assert r.exit_code == 1, r.output
    assert "Traceback" not in r.output


def test_every_vector_through_the_cli_in_one_process():
    # the exit code of the command agrees with wantErr on a sample of both kinds
    files = sorted((TESTDATA / "inclusion" / "4").glob("*.json"))
    files += sorted((TESTDATA / "consistency" / "4").glob("*.json"))
    for path in files:
        want = json.loads(path.read_text(encoding="utf-8"))["wantErr"]
        assert _run(str(path)).exit_code == (1 if want else 0), path


def _write(tmp_path: Path, text: str) -> str:
    p = tmp_path / "v.json"
    p.write_text(text, encoding="utf-8")
    return str(p)


GOOD = json.loads(HAPPY_INCLUSION.read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("{not json", ["not valid JSON"]),
        ("[1, 2]", ["not a JSON object"]),
        ("{}", ["neither"]),
        (json.dumps({k: v for k, v in GOOD.items() if k != "root"}), ['"root"', "missing"]),
        (json.dumps({**GOOD, "leafIdx": "2"}), ['"leafIdx"', "integer"]),
        (json.dumps({**GOOD, "treeSize": -3}), ['"treeSize"']),
        (json.dumps({**GOOD, "treeSize": True}), ['"treeSize"']),
        (json.dumps({**GOOD, "proof": "abc"}), ['"proof"', "list"]),
        (json.dumps({**GOOD, "proof": [1]}), ['"proof[0]"', "base64"]),
        (json.dumps({**GOOD, "leafHash": "@@@"}), ['"leafHash"', "base64"]),
        (json.dumps({**GOOD, "size1": 1}), ["both"]),
        (json.dumps({"size1": 1, "size2": 2, "root1": "", "root2": ""}), ['"proof"', "missing"]),
    ],
    ids=[
        "json",
        "array",
        "empty",
        "no-root",
        "str-idx",
        "neg",
        "bool",
        "proof-str",
        "proof-int",
        "b64",
        "both",
        "no-proof",
    ],
)
def test_a_malformed_file_exits_2_with_one_line(tmp_path: Path, text: str, words: list[str]):
    name = _write(tmp_path, text)
    r = _run(name)
    assert r.exit_code == 2, r.output
    err = r.stderr.strip()
    assert len(err.splitlines()) == 1, err
    assert name in err and "Traceback" not in r.output
    assert all(w in err for w in words), err


def test_a_missing_file_exits_2(tmp_path: Path):
    r = _run(str(tmp_path / "nope.json"))
    assert r.exit_code == 2
    assert "nope.json" in r.stderr
