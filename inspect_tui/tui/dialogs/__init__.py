"""Small modal dialogs any screen may open: they return a value and hold no navigation."""
