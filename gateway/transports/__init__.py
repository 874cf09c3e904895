"""Transports: the client-facing endpoints (OpenAI WebSocket, native passthrough), adapters over the session pump."""
