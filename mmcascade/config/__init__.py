"""Configs as the tools and the inference API read them: loading (``loading``: files, shipped and
zoo names, ``--cfg-options``, ``data_root``, scope), ``_base_`` checks (``files``), type and option
checks (``checks``), classes (``classes``, ``class_names``) and test pipelines (``pipelines``)."""
