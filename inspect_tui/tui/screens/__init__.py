"""The app's screens: sessions → branches → one branch's five steps → review."""
