"""Built-in behaviour, registered through the same plugin manager as any plugin (trylast)."""
