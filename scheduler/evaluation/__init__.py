"""The local GAIA-style evaluation suite (data/gaia_local): task loading, exact-match scoring, harness."""
