"""Project files as Chinese editors save them (issue 12 item 6): GBK and UTF-16 YAML read, and
errors of a financing instrument's inputs name the full field path of the project file.

Before issue 12 ``read_project`` read UTF-8 only (a GBK file was a decoding traceback), and an
instrument's errors named the field inside its inputs only (``valuation_rate``), not where it
is in the project (``financing.0.inputs.valuation_rate``).
"""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from restora.appraisal.io import parse_project, read_project
from restora.appraisal.stages import cashflow, financing, revenue
from restora.appraisal.stages.cost import CostResult
from restora.errors import InputError
from restora.finance.instruments import run_instrument

PROJECT = """\
project_id: QS-1
name: 某县历史遗留矿山生态修复项目
mines: [GY-001]
start_year: 2026
horizon_years: 6
discount_rate: 0.08
"""


@pytest.mark.parametrize("encoding", ["gbk", "gb18030", "utf-8-sig", "utf-16"])
def test_project_file_in_chinese_encodings(tmp_path, encoding):
    path = tmp_path / "项目.yaml"
    data = PROJECT.encode(encoding)
    path.write_bytes(data)
    spec, meta = read_project(path)
    assert spec.name == "某县历史遗留矿山生态修复项目"
    assert meta["file"] == str(path)
    assert meta["sha256"] == hashlib.sha256(data).hexdigest()  # of the bytes as stored


LOAN = {  # a pledge loan without its valuation_rate
    "ltv": 0.8,
    "requested": 1000.0,
    "interest_rate": 0.1,
    "tenor_years": 6,
    "grace_years": 1,
    "amortisation": "equal_principal",
    "min_dscr": 1.3,
}


BOND = {  # a valid performance bond: the stage runs it before the loan
    "principal": 500.0,
    "coupon_rate": 0.04,
    "term_years": 5,
    "tranches": [
        {
            "name": "soil",
            "share": 1.0,
            "indicator": "soil",
            "verification_year": 4,
            "tiers": [{"lower": None, "principal_fraction": 1.0}],
        }
    ],
    "outcomes": {"soil": {4: 0.9}},
}


def test_instrument_errors_carry_the_prefix():
    with pytest.raises(InputError) as err:
        run_instrument("pledge-loan", LOAN, file="p.yaml", prefix="financing.0.inputs")
    shown = [str(p) for p in err.value.problems]
    assert 'p.yaml, column "financing.0.inputs.valuation_rate": required' in shown
    assert all(p.row is None for p in err.value.problems)  # the path says which item
    with pytest.raises(InputError) as err:
        run_instrument("pledge-loan", LOAN, file="p.yaml")
    assert "valuation_rate" in [p.field for p in err.value.problems]  # the spec's own path


def test_the_financing_stage_names_the_project_path():
    spec = parse_project(
        {
            "project_id": "P1",
            "name": "测试项目",
            "mines": ["M1"],
            "start_year": 2026,
            "horizon_years": 6,
            "discount_rate": 0.1,
            "hurdle_rate": 0.08,
            "revenue_streams": [
                {
                    "stream": "land_rights",
                    "name": "租金",
                    "mode": "lease",
                    "area_mu": 1,
                    "start_year": 2028,
                    "price": 600,
                    "lease_years": 5,
                }
            ],
            "financing": [
                {"instrument": "performance-bond", "inputs": BOND},
                {"instrument": "pledge-loan", "inputs": LOAN},
            ],
        },
        "p.yaml",
    )
    cost = CostResult(
        price_year=2024,
        deterministic_cny=1500.0,
        p50_cny=0.0,
        p90_cny=0.0,
        capex_nominal={2026: 1000.0, 2027: 500.0},
        capex_factors=np.ones(1),
        report={},
    )
    rev = revenue.run(spec)
    cf = cashflow.run(spec, cost, rev)
    with pytest.raises(InputError) as err:
        financing.run(spec, cost, rev, cf, file="p.yaml")
    shown = [str(p) for p in err.value.problems]
    assert shown == ['p.yaml, column "financing.1.inputs.valuation_rate": required']
