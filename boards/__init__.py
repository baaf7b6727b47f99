"""Board support and builds (installed as ``kanhw.boards``)."""
