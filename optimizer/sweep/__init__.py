"""Scenario sweeps: a base scenario plus changes (:mod:`.changes`), combined by a sweep file
(:mod:`.spec`, ``scenarios/sweeps/*.yaml``) into cases that are solved one by one."""
