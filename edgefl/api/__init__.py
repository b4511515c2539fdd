"""The Python interface of edgefl, re-exported lazily by :mod:`edgefl` (``edgefl.load``, ``edgefl.run``, ...).

* :mod:`.scenario`: :func:`load` and :class:`Scenario`;
* :mod:`.run`: :func:`run` and :class:`RunResult`;
* :mod:`.study`: :func:`sweep` and :class:`StudyResult`;
* :mod:`.answers`: :func:`whatif` and :func:`plan`.

The command line (:mod:`edgefl.cli`) calls these functions.
"""
