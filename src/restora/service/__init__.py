"""FastAPI app: routers, roles, audit log, web pages."""
