"""The model layer: pure Python state, no Qt and no network (enforced by import-linter)."""
