"""Docked panels, each a view over the store that repaints only when asked by the scheduler."""
