"""The stages of an appraisal, one module each, in the order they run.

=========  ============================================  ===================
stage      what it computes                              result
=========  ============================================  ===================
diagnosis  rank, hazards, soil, suitability, zones       ``DiagnosisResult``
plan       works per site and zone, after-uses           ``PlanResult``
cost       life-cycle cost, Monte Carlo P50/P90          ``CostResult``
revenue    revenue streams by year                       ``RevenueResult``
value      ESV/GEP before and after, stages, location    ``ValueResult``
cashflow   flows by period, NPV, IRR, payback            ``CashflowResult``
financing  instruments over the project's figures        ``FinancingResult``
risk       Monte Carlo of NPV, IRR, DSCR, losses         ``RiskResult``
modes      value-realization mode, IAD evaluation        ``ModesResult``
=========  ============================================  ===================

Each module has a ``run(...)`` that takes the project and the earlier stages' typed results
and returns its own; :mod:`restora.appraisal.pipeline` chains them.
"""
