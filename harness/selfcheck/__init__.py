"""gilbench's checks of itself: the self-benchmark (``selfbench``, ``nox -s perf``) with its
``stability`` rows and A/A comparison (``aa_check``), and the reliability drill
(``chaos``, ``nox -s chaos``).  Their workloads (``noop_workloads``,
``chaos_workloads``) are not the catalogue: they load the way your own workloads do,
where named.  This room sits above ``run``: it runs whole matrices and reads them back.
"""
