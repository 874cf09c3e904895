"""Upstream sockets: where each Gemini deployment is, how to authenticate, dialing with fallbacks."""
