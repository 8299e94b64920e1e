"""Value-realization modes of mine ecological products and their IAD evaluation.

- :mod:`restora.modes.profile` — the mine profile (frozen pydantic spec, units in field texts);
- :mod:`restora.modes.recommend` — rule scores, gates, primary mode and sequence (table
  ``modes/rules``);
- :mod:`restora.modes.derive` — a profile from the register and its diagnosis;
- :mod:`restora.modes.fit` — fits the rule weights to the labelled published cases (table
  ``modes/cases``) and reports leave-one-out agreement (``python -m restora.modes.fit``);
- :mod:`restora.modes.iad` — Ostrom's IAD framework per mode (table ``modes/iad``) with measurable
  criteria from appraisal figures.

Reference: Wang J. et al. (2026) Acta Ecologica Sinica 46(1):184-200,
DOI 10.20103/j.stxb.202507131830.
"""

from restora.modes.iad import IADEvaluation, compare, evaluate
from restora.modes.profile import MODES, MineProfile, parse_profile
from restora.modes.recommend import Recommendation, load_rules, recommend

__all__ = [
    "MODES",
    "IADEvaluation",
    "MineProfile",
    "Recommendation",
    "compare",
    "evaluate",
    "load_rules",
    "parse_profile",
    "recommend",
]
