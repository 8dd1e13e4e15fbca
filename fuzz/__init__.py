"""``make fuzz``: hostile bytes through the whole client decode path and the simulator's device role.

The invariant (DESIGN.md rule 9, STYLE-MODELS.md point 11): every byte from a peer either
parses (and its result reaches the device layer, or an answer goes back) or ends the
connection through its fatal funnel with a :class:`~tinytuya_asyncio.RemoteProtocolError`.
Nothing else may escape, and nothing may grow without bound.

- :mod:`fuzz.inputs`: what is fed, drawn from one source of choices (seeded ``random`` for
  the driver, hypothesis for the tests, which then shrinks what it finds);
- :mod:`fuzz.outcomes`: what happened, counted, and what broke the invariant, kept with its input;
- :mod:`fuzz.client`: a client connection wired to a device, fed through ``BufferedProtocol``;
- :mod:`fuzz.device`: a simulated device's connection, fed through ``Protocol``;
- :mod:`fuzz.run`: the driver (``python -m fuzz.run``; ``make fuzz``, docs/FUZZING.md).
"""
