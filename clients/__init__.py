"""Python client SDK for the QuantDesk programs: PDAs, instruction builders, account decoders."""

__all__ = ["collateral", "core", "errors", "health", "idl", "oracle", "pyth", "rpc", "security", "sysvar", "token", "trading", "trading_state"]

