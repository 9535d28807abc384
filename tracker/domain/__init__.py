"""The domain layer: pure rules, no I/O, no clock reads, no HTTP.

The programme and its compilers, scoring, decisions, routing rules, stages, identity
rules, privacy rules, and the data they reason over.  Times are passed in.
"""
