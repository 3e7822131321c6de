"""Kernel data: the tables both sides read — instrument command tables (``scpi/``),
meter register maps (``meter/``) and LED sensor calibrations (``led/``). The drivers
speak them to real instruments and the virtual bench serves them, from the same file,
so a mistake in a table shows on the virtual bench too (design §1–2)."""
