"""relance-xlsx : relances de factures impayées depuis un export Excel.

The package is a staged pipeline over plain data (see ``pipeline.py``):
read the export, merge the history, classify, plan letters, compute amounts,
render letters, write the status column back, record the run.
"""

__version__ = "0.1.0"
