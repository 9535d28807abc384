"""The web layer: HTTP handlers grouped by audience, and the one HTTP kit they share.

Handlers parse the request (``params``, ``validation``), call a service, and render
(``responses``); errors are ``tracker.errors`` exceptions, rendered by the one handler in
``tracker.app``.  Nothing here writes SQL.
"""
