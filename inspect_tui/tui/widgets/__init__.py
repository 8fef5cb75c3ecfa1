"""Reusable widgets: fields that save themselves when committed, the save status line, the step bar."""
