"""Pure pandas: DataFrames in, DataFrames out; no file or console access."""
