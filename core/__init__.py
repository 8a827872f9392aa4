"""What every layer needs and none owns: user-facing errors, file locations, the SQLite opener, stopping on a
signal, child processes and a small HTTP server helper. Nothing here knows about chains, models or agents."""
