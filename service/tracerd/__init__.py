"""tracerd: a root daemon that owns kernel tracing resources and serves them over HTTP."""

__version__ = "0.1.0"
