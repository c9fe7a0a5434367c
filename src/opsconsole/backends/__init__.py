"""Backend adapters: asyncio I/O that turns wire data into core events (no Qt here)."""
