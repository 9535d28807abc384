"""The programme: the marketers' TOML (tokens, scores, rules, campaigns, routes), checked and compiled once."""
