"""QuantDesk's SBF toolchain: build Solana SBPF v0 programs without Solana's platform-tools."""
