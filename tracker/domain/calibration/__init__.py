"""Calibration: does the programme's scoring predict what sales records as conversions?

Pure statistics over plain rows read by ``store.calibration_queries``: intervals (Wilson,
rate ratio), score bands, the best threshold, behaviours before conversion, and the report
that assembles them (``report``).
"""
