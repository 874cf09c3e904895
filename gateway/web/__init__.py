"""The console page: static files and the routes that serve them."""
