"""How gilbench measures: backends, the pyperf bridge, machine facts, result store,
analysis, plots, HTML report and the command line."""

__version__ = "0.1.0"
