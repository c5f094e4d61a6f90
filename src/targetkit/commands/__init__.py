"""File-level jobs behind each command: read inputs, run the pipeline, write outputs.

Importable on their own (the CLI is a thin layer over these), e.g.
`targetkit.commands.convert.convert_file(path, ["reading_ks1"], "nc", "points")`.
"""
