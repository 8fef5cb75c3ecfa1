"""The branch screen and its five step panes (one module each)."""

from inspect_tui.tui.screens.branch.screen import BranchScreen

__all__ = ["BranchScreen"]
