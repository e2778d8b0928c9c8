"""The science: genome access and its byte sources, the request model, transcripts, CDS
and ORFs, variants, the retrieval of one entry, the alignment and its columns.

May import: the standard library, pydantic, Biopython, urllib3, and boto3 (only inside
:mod:`pavi.domain.sources` and :mod:`pavi.domain.storage`, when an ``s3://`` location is
read or written). Never :mod:`pavi.aws`, :mod:`pavi.local`, :mod:`pavi.cli`, Powertools or
moto: it knows nothing of Lambda events, Batch or the job's layout in S3.
"""
