"""The action executors: a local one for the embedded default (AWS ones come next)."""
