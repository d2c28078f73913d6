"""Python client SDK for the QuantDesk programs: PDAs, instruction builders, account decoders."""
