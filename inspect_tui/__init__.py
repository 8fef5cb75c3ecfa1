"""inspect-tui: a terminal workbench for cross-visits (交叉观摩) of Party branches."""

__version__ = "0.1.0"
