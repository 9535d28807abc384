"""The console under ``/admin``: server-rendered pages for sales, marketing and admins.

``session`` signs people in and out and guards every page with the role matrix
(``domain.roles``); ``render`` turns templates/admin/*.html into responses; the pages call
the same services as the API, so nothing is computed twice.
"""
