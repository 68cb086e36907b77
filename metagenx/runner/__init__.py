"""Runner processes: one fit at a time in a child process that speaks JSON lines on a pipe."""
