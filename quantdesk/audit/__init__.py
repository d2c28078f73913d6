"""The audit trail: the store's rows hash-chained and Merkle-rooted in blocks (chain.py), and
their verification (verify.py)."""
