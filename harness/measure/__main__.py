"""``python -m gilbench.measure``: the pyperf worker (gilbench.measure.bridge.main).

Why a ``__main__`` module and not ``python -m gilbench.measure.bridge``: multiprocessing
gives every child of a process pool its parent's main module, imported again as
``__mp_main__``, unless that module's name ends in ``.__main__``.  Started through the
bridge, each pool worker imported pyperf, psutil and the whole measuring side, none of
which the workload needs, and the memory a worker costs read well above what a
plain ``ProcessPoolExecutor`` of the same size holds (docs/method.md, "What is
measured").  Started through this module, a pool worker imports only the workload's
module and the small task wrapper: what the user's own pool would hold.
"""

from gilbench.measure.bridge import main

if __name__ == "__main__":
    main()
