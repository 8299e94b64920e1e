"""Credits and quotas, tamper-evident ledger, transfers, auctions, retirements."""
