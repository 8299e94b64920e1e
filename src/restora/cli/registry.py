"""``restora registry``: the tamper-evident ledger of credits and quotas (proofs so far).

``restora registry verify-proof FILE.json`` checks one RFC 9162 inclusion or consistency proof
in the format of the transparency-dev/merkle test vectors (docs/registry.md).
"""

from __future__ import annotations

import typer

from restora.cli.output import Format, FormatOption, emit, handled

app = typer.Typer(no_args_is_help=True)


@app.command("verify-proof")
def verify_proof_command(
    file: str = typer.Argument(..., help="Proof file (JSON, transparency-dev/merkle format)."),
    fmt: Format = FormatOption,
) -> None:
    """Check one RFC 9162 inclusion or consistency proof, offline.

    Inclusion files have leafIdx, treeSize, root, leafHash, proof; consistency files have
    size1, size2, root1, root2, proof (hashes in base64). Exit code 0: the proof verifies;
    1: it does not; 2: the file cannot be read or is malformed.
    """
    from restora.cli.output import read_input_json
    from restora.registry.vectors import check_vector

    with handled():
        data, name = read_input_json(file)
        result = check_vector(data, name)
    emit(
        {
            "file": name,
            "kind": result.kind,
            "verifies": result.verifies,
            "desc": result.desc,
        },
        fmt,
    )
    if not result.verifies:
        raise typer.Exit(1)
