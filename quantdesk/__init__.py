"""QuantDesk: Python side of the QuantDesk Solana programs (clients, keepers, local validator, CLI)."""
