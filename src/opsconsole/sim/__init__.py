"""Reference backend: a simulated e-commerce system speaking Ops API v1 (REST, WebSocket, SSE)."""
