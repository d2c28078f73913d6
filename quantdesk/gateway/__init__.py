"""The API gateway (issue 19): Sign-In-With-Solana, server-side sessions, the HTTP app."""
