"""PAVI on AWS Step Functions: the shared package.

- :mod:`pavi.domain`: the science (genome access, the request model, transcripts and ORFs,
  variants, retrieval of one entry, alignment). Imports nothing of the other two.
- :mod:`pavi.aws`: the job as AWS runs it (its steps over the job's store, the Lambda
  handlers, the client API, job logs). Imports :mod:`pavi.domain`, never :mod:`pavi.local`.
- :mod:`pavi.local`: the local stand-in for AWS (the template model, the Lambda host, the
  Batch host, the stack on moto, ``pavi run``, ``pavi serve``). Imports both.
- :mod:`pavi.cli`: the ``pavi`` command, on top.
"""

__version__ = "0.1.0"  # pyproject.toml's (tests/test_layout.py holds them equal); in each job's provenance
