"""Database side of sync: per job kind, what to request and how a response lands in the mirror."""
