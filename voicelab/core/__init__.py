"""The shared core: what every other layer stands on.

``runtime`` (QUICK or FULL mode, device, cache folder, seeds, the one ``quiet()``), ``errors``
(the exception classes), ``files`` (atomic writes), ``hub`` (every download, with hashes and
offline stand-ins) and ``torchutil`` (seeding, CPU threads).

May import: the standard library and third-party packages only; no other voicelab layer.
"""
