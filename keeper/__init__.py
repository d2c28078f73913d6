"""Keeper bots and their shared asyncio runtime."""
