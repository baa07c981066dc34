"""One module per pipeline step: a pure run() plus a thin CLI (HELP, add_arguments, execute)."""
