"""The API gateway (issue 19): Sign-In-With-Solana, server-side sessions, rate limits, metrics, the HTTP app."""
