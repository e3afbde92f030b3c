"""The command-line tools (``tools/*.py`` and ``mmcascade train|test|zoo|analyze`` run these):
each module has a ``main(argv)``; :mod:`.common` holds what train and test share."""
