//! A Kong 3.x-compatible Admin API server (`kong-admin-api.md`), embeddable in-process.
