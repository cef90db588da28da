"""The fleet: the same matrix on every host of a Dask cluster (``gilbench fleet``).

``driver`` plans and drives it, ``host`` measures on one host, ``home`` keeps each
host's results folder, ``guard`` stops a host's run cleanly, ``records`` is what travels
between them.  The fleet sits above ``run``: it plans and runs points the way a local
run does, on many machines.
"""
