"""Host side: link protocol, transports, streaming trainer (installed as ``kanhw.host``)."""
